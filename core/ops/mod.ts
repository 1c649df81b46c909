/** The op registry: every op the runtime offers, one file each (forward kernel, backward rule, f64 reference). */
export * from "./fill.ts";
export * from "./reshape.ts";
export * from "./binary.ts";
export * from "./unary.ts";
export * from "./reduce.ts";
export * from "./matmul.ts";
export * from "./shape.ts";
export * from "./softmax.ts";
export * from "./rope.ts";
export * from "./norm.ts";
export * from "./cross_entropy.ts";
export * from "./normalize.ts";
export * from "./where.ts";
export * from "./argmax.ts";
export * from "./index.ts";
export * from "./optim.ts";
export * from "./attention.ts";

/**
 * Reverse-mode autograd on a tape of creator links: every op result that depends on a tensor requiring grad keeps
 * a GradNode (its inputs and backward rule). `backward(loss)` walks the graph in reverse topological order and
 * accumulates into `.grad` of leaves (tensors with requiresGrad and no node), adding to an existing `.grad`
 * (gradient accumulation across micro-batches). Recording lives in core/tape.ts, below the ops; this walk uses raw
 * kernels only, so it imports no op.
 */
import { keep, type Tensor } from "./tensor.ts";
import { ShapeMismatchError } from "./errors.ts";
import { isGradEnabled, noGrad, record, withGradEnabled } from "./tape.ts";
import { binaryRaw, full } from "./kernels/elementwise.ts";

export { isGradEnabled, noGrad, record };

const add = (a: Tensor, b: Tensor) => binaryRaw("add", a, b);

function topoOrder(roots: Tensor[]): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // Iterative DFS (graphs of deep models overflow recursion).
  const stack: [Tensor, number][] = roots.map((r) => [r, 0]);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    if (i === 0) {
      if (seen.has(t)) {
        stack.pop();
        continue;
      }
      seen.add(t);
    }
    const inputs = t.node?.inputs ?? [];
    if (i < inputs.length) {
      top[1]++;
      const child = inputs[i];
      if (child.requiresGrad && !seen.has(child)) stack.push([child, 0]);
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order; // children before parents
}

/**
 * Back-propagate from `roots` (seeded with `rootGrads`, default ones). Leaves accumulate into `.grad`, except
 * leaves in `capture`, whose gradients are returned instead (used by activation checkpointing).
 */
export function runBackward(roots: Tensor[], rootGrads?: Tensor[], capture?: Set<Tensor>): Map<Tensor, Tensor> {
  const grads = new Map<Tensor, Tensor>();
  roots.forEach((r, i) => {
    const g = rootGrads?.[i] ?? full(r.shape, 1, r.device);
    if (g.shape.join() !== r.shape.join()) {
      throw new ShapeMismatchError("backward", `gradient [${g.shape}] for output [${r.shape}]`);
    }
    grads.set(r, grads.has(r) ? add(grads.get(r)!, g) : g);
  });
  const captured = new Map<Tensor, Tensor>();
  const order = topoOrder(roots);
  // Gradients of gradients are not needed: the backward rules run with recording off.
  withGradEnabled(false, () => {
    for (let k = order.length - 1; k >= 0; k--) {
      const t = order[k];
      const g = grads.get(t);
      if (!g) continue;
      if (!t.node) {
        if (capture?.has(t)) captured.set(t, g);
        else if (t.requiresGrad) accumulateLeaf(t, g);
        continue;
      }
      const ins = t.node.backward(g);
      t.node.inputs.forEach((inp, i) => {
        const gi = ins[i];
        if (!gi || !inp.requiresGrad) return;
        if (gi.shape.join() !== inp.shape.join()) {
          throw new ShapeMismatchError(
            `${t.node!.name} backward`,
            `gradient [${gi.shape}] for input ${i} of shape [${inp.shape}]`,
          );
        }
        const old = grads.get(inp);
        grads.set(inp, old ? add(old, gi) : gi);
      });
    }
  });
  // Free the graph: closures hold saved tensors.
  for (const t of order) t.node = null;
  return captured;
}

function accumulateLeaf(t: Tensor, g: Tensor): void {
  if (t.grad) {
    const sum = keep(add(t.grad, g));
    t.grad.dispose();
    t.grad = sum;
  } else {
    // A separate tensor object over the same storage, so disposing one owner never frees another's gradient.
    t.grad = keep(g.view(g.shape));
  }
}

/** dL/d(leaves) for a scalar loss; fills `.grad` of every leaf that requires grad. */
export function backward(loss: Tensor, grad?: Tensor): void {
  runBackward([loss], grad ? [grad] : undefined);
}

/** Dispose and clear the gradients of these parameters. */
export function zeroGrad(params: Iterable<Tensor>): void {
  for (const p of params) {
    p.grad?.dispose();
    p.grad = null;
  }
}

/**
 * Activation checkpointing: run `fn` without keeping its intermediates; during backward, recompute its forward
 * with grad on and back-propagate through it. Parameters used inside `fn` receive their gradients as usual.
 */
export function checkpoint(fn: (...inputs: Tensor[]) => Tensor, inputs: Tensor[]): Tensor {
  // Checkpointed blocks usually close over trainable parameters, so a node is kept even when no input needs grad.
  if (!isGradEnabled()) return fn(...inputs);
  const out = noGrad(() => fn(...inputs));
  out.requiresGrad = true;
  out.node = {
    name: "checkpoint",
    inputs,
    backward: (g) => {
      const detached = inputs.map((x) => {
        const d = x.view(x.shape);
        d.requiresGrad = x.requiresGrad;
        return d;
      });
      const y = withGradEnabled(true, () => fn(...detached));
      const captured = runBackward([y], [g], new Set(detached.filter((d) => d.requiresGrad)));
      return detached.map((d) => captured.get(d) ?? null);
    },
  };
  return out;
}

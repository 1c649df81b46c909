/**
 * Headless rendering: Vega-Lite → Vega → SVG string (vega View with renderer "none", no canvas), and SVG → PNG with
 * @resvg/resvg-wasm. resvg draws text only with fonts it is given, so a TTF of PLOT_FONT is loaded from the system:
 * on Debian/Ubuntu it comes from the `fonts-dejavu-core` package (`apt-get install fonts-dejavu-core`); the
 * GASP_PLOT_FONT environment variable may point at any other TTF.
 */
import { initWasm, Resvg } from "@resvg/resvg-wasm";
import * as vega from "vega";
import * as vl from "vega-lite";
import type { TopLevelSpec } from "vega-lite";
import { ConfigError } from "../errors.ts";

/** Font family every plot uses (set it as the spec's config.font); loadPlotFont loads a TTF of it for the PNGs. */
export const PLOT_FONT = "DejaVu Sans";

export const FONT_CANDIDATES = [
  "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
  "/usr/share/fonts/TTF/DejaVuSans.ttf",
  "/usr/share/fonts/dejavu/DejaVuSans.ttf",
  "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
  "/usr/local/share/fonts/DejaVuSans.ttf",
  "/Library/Fonts/DejaVuSans.ttf",
];

/** Vega-Lite spec → standalone SVG document. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

let wasmReady: Promise<void> | null = null;
let fontCache: Uint8Array | null = null;

/** Loads resvg's wasm from the installed npm package (next to its index.mjs). */
function ensureWasm(): Promise<void> {
  wasmReady ??= (async () => {
    const url = new URL("index_bg.wasm", import.meta.resolve("@resvg/resvg-wasm"));
    if (url.protocol !== "file:") {
      throw new ConfigError("plots", `cannot locate @resvg/resvg-wasm's index_bg.wasm (resolved to ${url.href})`);
    }
    await initWasm(await Deno.readFile(url));
  })();
  return wasmReady;
}

/** The TTF used for PNG text: $GASP_PLOT_FONT, else the first DejaVu Sans found on the system. */
export async function loadPlotFont(): Promise<Uint8Array> {
  if (fontCache) return fontCache;
  const env = Deno.env.get("GASP_PLOT_FONT");
  for (const path of env ? [env, ...FONT_CANDIDATES] : FONT_CANDIDATES) {
    try {
      fontCache = await Deno.readFile(path);
      return fontCache;
    } catch {
      // try the next candidate
    }
  }
  throw new ConfigError(
    "plots",
    "no TTF font found for PNG text. Install DejaVu Sans (Debian/Ubuntu: `apt-get install fonts-dejavu-core`) " +
      "or set GASP_PLOT_FONT=/path/to/font.ttf",
  );
}

/** SVG → PNG at `scale` × the SVG's size, white background. */
export async function svgToPng(svg: string, scale = 2): Promise<Uint8Array> {
  await ensureWasm();
  const font = await loadPlotFont();
  const r = new Resvg(svg, {
    fitTo: { mode: "zoom", value: scale },
    background: "white",
    font: {
      fontBuffers: [font],
      loadSystemFonts: false,
      defaultFontFamily: PLOT_FONT,
      sansSerifFamily: PLOT_FONT,
    },
  });
  const img = r.render();
  try {
    return img.asPng();
  } finally {
    img.free();
    r.free();
  }
}

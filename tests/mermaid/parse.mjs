// Usage: node parse.mjs FILE — exits 0 if Mermaid parses FILE as a diagram, 1 otherwise.
import { readFileSync } from "node:fs";
import { JSDOM } from "jsdom";

const { window } = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = window;
globalThis.document = window.document;

const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false });
const text = readFileSync(process.argv[2], "utf8");
try {
  const result = await mermaid.parse(text);
  console.log(`parsed: ${result.diagramType}`);
} catch (error) {
  console.error(`not Mermaid: ${error.message ?? error}`);
  process.exit(1);
}

// Drives one headless chromium tab for a Go test, one command per line.
// Each line on standard input is a JSON command; each answer on standard
// output is a JSON line {"id", "ok", "value"} or {"id", "ok": false,
// "error"}. Console errors and failed requests of the page are printed as
// {"log": "..."} lines.
//
// Commands:
//   {"op": "goto", "url"}                      load a page and wait for the network to settle
//   {"op": "eval", "expr"}                     evaluate an expression in the page; its JSON value
//   {"op": "wait", "expr", "timeout"}          poll an expression (every 50 ms) until truthy; its value
//   {"op": "click", "selector", "navigate"}    click an element (and wait for the page it opens)
//   {"op": "drag", "selector", "from", "to"}   drag the mouse across an element, from and to
//                                              as fractions of its width, at half its height
//   {"op": "screenshot", "path", "media"}      save a full-page PNG; media "print" uses the print styles
//   {"op": "clipboard"}                        read the clipboard's text
//
// Usage: node drive.mjs CHROMIUM ORIGIN   (ORIGIN is granted clipboard access)
// Closing standard input closes the browser and exits 0.
import { launch } from './launch.mjs';
import readline from 'node:readline';

const [chromium, origin] = process.argv.slice(2);
if (!chromium || !origin) {
  console.error('usage: node drive.mjs CHROMIUM ORIGIN');
  process.exit(2);
}

const browser = await launch(chromium);
await browser.defaultBrowserContext().overridePermissions(origin, ['clipboard-read', 'clipboard-write', 'clipboard-sanitized-write']);
const page = await browser.newPage();
await page.setViewport({ width: 1280, height: 900 });
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n');
page.on('console', (m) => {
  if (m.type() === 'error') say({ log: `console: ${m.text()}` });
});
page.on('pageerror', (e) => say({ log: `page error: ${e.message}` }));
page.on('requestfailed', (r) => say({ log: `request failed: ${r.url()} ${r.failure()?.errorText}` }));

const ops = {
  goto: async (c) => {
    await page.goto(c.url, { waitUntil: 'networkidle2', timeout: 30000 });
    return page.url();
  },
  eval: (c) => page.evaluate(c.expr),
  wait: async (c) => {
    const h = await page.waitForFunction(c.expr, { timeout: c.timeout ?? 10000, polling: 50 });
    return h.jsonValue();
  },
  click: async (c) => {
    if (c.navigate) {
      await Promise.all([page.waitForNavigation({ waitUntil: 'networkidle2', timeout: 30000 }), page.click(c.selector)]);
      return page.url();
    }
    await page.click(c.selector);
    return true;
  },
  drag: async (c) => {
    const el = await page.$(c.selector);
    if (!el) throw new Error(`no element ${c.selector}`);
    await el.scrollIntoView();
    const box = await el.boundingBox();
    const y = box.y + box.height / 2;
    await page.mouse.move(box.x + box.width * c.from, y);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * c.to, y, { steps: 10 });
    await page.mouse.up();
    return true;
  },
  screenshot: async (c) => {
    await page.emulateMediaType(c.media || null);
    await page.screenshot({ path: c.path, fullPage: true });
    await page.emulateMediaType(null);
    return c.path;
  },
  clipboard: () => page.evaluate(() => navigator.clipboard.readText()),
};

// Commands run one at a time, in order.
let chain = Promise.resolve();
const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  chain = chain.then(async () => {
    let c;
    try {
      c = JSON.parse(line);
      const op = ops[c.op];
      if (!op) throw new Error(`unknown op ${c.op}`);
      say({ id: c.id, ok: true, value: (await op(c)) ?? null });
    } catch (e) {
      say({ id: c?.id, ok: false, error: String(e?.message ?? e) });
    }
  });
});
rl.on('close', async () => {
  await chain;
  await browser.close();
  process.exit(0);
});

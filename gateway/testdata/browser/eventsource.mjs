// Opens PAGE_URL in headless chromium and, from that page, subscribes to
// STREAM_URL with the browser's own EventSource. Prints one JSON line per
// happening: {"open":true} on every (re)connection, {"id","data"} for each
// `next` event, {"complete":true} when the server ends the stream,
// {"error":true} when the connection drops (EventSource then reconnects by
// itself, sending Last-Event-ID).
//
// Usage: node eventsource.mjs CHROMIUM PAGE_URL STREAM_URL
//
// Closing standard input closes the browser and exits 0.
import { launch } from './launch.mjs';

const [chromium, pageURL, streamURL] = process.argv.slice(2);
if (!chromium || !pageURL || !streamURL) {
  console.error('usage: node eventsource.mjs CHROMIUM PAGE_URL STREAM_URL');
  process.exit(2);
}

const browser = await launch(chromium);
const page = await browser.newPage();
await page.exposeFunction('report', (line) => console.log(line));
await page.goto(pageURL);
await page.evaluate((url) => {
  const es = new EventSource(url);
  es.onopen = () => window.report(JSON.stringify({ open: true }));
  es.onerror = () => window.report(JSON.stringify({ error: true, state: es.readyState }));
  es.addEventListener('next', (e) => window.report(JSON.stringify({ id: e.lastEventId, data: JSON.parse(e.data) })));
  es.addEventListener('complete', () => {
    es.close();
    window.report(JSON.stringify({ complete: true }));
  });
}, streamURL);

process.stdin.resume();
process.stdin.on('end', async () => {
  await browser.close();
  process.exit(0);
});

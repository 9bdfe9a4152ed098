// Builds the GraphiQL page and the handover and overview pages into dist/:
// one HTML file each plus content-hashed assets (so the gateway can cache
// them forever). The Monaco workers are separate bundles whose hashed names
// are substituted into the GraphiQL script; the two pages share chunks
// (React, the GraphQL client) with each other but not with GraphiQL.
import * as esbuild from 'esbuild';
import { readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';

const dist = 'dist';
const assets = path.join(dist, 'assets');
await rm(dist, { recursive: true, force: true });
await mkdir(assets, { recursive: true });

const common = {
  bundle: true,
  minify: true,
  legalComments: 'linked',
  logLevel: 'warning',
  target: ['es2022'],
  metafile: true,
  define: { 'process.env.NODE_ENV': '"production"' },
  loader: { '.ttf': 'file', '.woff': 'file', '.woff2': 'file', '.svg': 'file' },
};


const workers = await esbuild.build({
  ...common,
  entryPoints: {
    editor: 'monaco-editor/esm/vs/editor/editor.worker.js',
    json: 'monaco-editor/esm/vs/language/json/json.worker.js',
    graphql: 'monaco-graphql/esm/graphql.worker.js',
  },
  format: 'iife',
  outdir: assets,
  entryNames: '[name].worker-[hash]',
});
const w = {};
for (const [file, meta] of Object.entries(workers.metafile.outputs)) {
  if (!file.endsWith('.js')) continue;
  const base = path.basename(file);
  w[base.slice(0, base.indexOf('.worker-'))] = path.relative(dist, file).split(path.sep).join('/');
}
for (const name of ['editor', 'json', 'graphql']) {
  if (!w[name]) throw new Error(`worker ${name} was not built`);
}

const page = await esbuild.build({
  ...common,
  entryPoints: { main: 'src/main.jsx' },
  format: 'esm',
  outdir: assets,
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  jsx: 'automatic',
  define: {
    ...common.define,
    __EDITOR_WORKER__: JSON.stringify(w.editor),
    __JSON_WORKER__: JSON.stringify(w.json),
    __GRAPHQL_WORKER__: JSON.stringify(w.graphql),
  },
});
let js, css;
for (const [file, meta] of Object.entries(page.metafile.outputs)) {
  if (!meta.entryPoint) continue;
  js = path.relative(dist, file).split(path.sep).join('/');
  css = meta.cssBundle && path.relative(dist, meta.cssBundle).split(path.sep).join('/');
}
if (!js || !css) throw new Error('page bundle is missing its script or stylesheet');

const html = (await readFile('src/index.html', 'utf8')).replace('%JS%', js).replace('%CSS%', css);
await writeFile(path.join(dist, 'index.html'), html);
console.log(`built ${dist}/index.html with ${js}, ${css}, workers ${Object.values(w).join(', ')}`);

const pages = await esbuild.build({
  ...common,
  entryPoints: { handover: 'src/pages/handover.jsx', overview: 'src/pages/overview.jsx' },
  format: 'esm',
  splitting: true,
  outdir: assets,
  entryNames: '[name]-[hash]',
  chunkNames: 'chunk-[hash]',
  assetNames: '[name]-[hash]',
  jsx: 'automatic',
});
for (const [file, meta] of Object.entries(pages.metafile.outputs)) {
  if (!meta.entryPoint) continue;
  const name = path.basename(meta.entryPoint, '.jsx');
  const pjs = path.relative(dist, file).split(path.sep).join('/');
  const pcss = meta.cssBundle && path.relative(dist, meta.cssBundle).split(path.sep).join('/');
  if (!pcss) throw new Error(`${name} page has no stylesheet`);
  const page = (await readFile(`src/${name}.html`, 'utf8')).replace('%JS%', pjs).replace('%CSS%', pcss);
  await writeFile(path.join(dist, `${name}.html`), page);
  console.log(`built ${dist}/${name}.html with ${pjs}, ${pcss}`);
}

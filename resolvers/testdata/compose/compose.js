// Composes subgraph SDL files into a supergraph with Apollo's composition
// library, as a federation gateway would. Usage:
//   node compose.js NAME=FILE.graphql NAME=FILE.graphql ...
// Exits 0 and prints the supergraph SDL when composition succeeds; otherwise
// prints every composition error and exits 1.
'use strict';
const fs = require('fs');
const { parse } = require('graphql');
const { composeServices } = require('@apollo/composition');

const services = process.argv.slice(2).map((arg) => {
  const i = arg.indexOf('=');
  const name = arg.slice(0, i);
  const file = arg.slice(i + 1);
  return { name, url: `http://${name}.invalid/graphql`, typeDefs: parse(fs.readFileSync(file, 'utf8')) };
});
const result = composeServices(services);
if (result.errors && result.errors.length > 0) {
  for (const e of result.errors) console.error(`composition error: ${e.message}`);
  process.exit(1);
}
process.stdout.write(result.supergraphSdl);

import { PropertyEnv } from './harness';
process.env.METADATA_SERVER_DETECTION = 'none';
async function main() {
  const env = await PropertyEnv.start();
  let fails = 0;
  for (let i = 0; i < 10; i++) {
    const r = await env.run({ byHand: false, deliverySeed: i, ops: [
      { kind: 'createCluster', c: 0 }, { kind: 'createCluster', c: 2 },
      { kind: 'deliver', n: 6, parallel: false }, { kind: 'deliver', n: 6, parallel: false },{ kind: 'deliver', n: 6, parallel: false },
      { kind: 'putService', c: 0, s: 0, labelled: true }, { kind: 'putService', c: 2, s: 0, labelled: true },
      { kind: 'deliver', n: 6, parallel: true },
    ] });
    if (r.violations.length) { fails++; console.log(r.violations); }
    console.log(r.stats);
  }
  console.log('fails', fails);
  await env.close();
}
main();

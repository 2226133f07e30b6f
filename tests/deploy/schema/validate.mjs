// validate.mjs — reads a JSON array of Kubernetes objects on stdin and validates each
// against the API's OpenAPI schema of its apiVersion and kind (kubernetes-models, ajv).
// Prints one line per invalid object and "schema: N valid, M invalid"; exit 1 if any
// is invalid or of a kind it does not know.
const text = await new Promise((resolve) => {
  let d = "";
  process.stdin.on("data", (c) => (d += c));
  process.stdin.on("end", () => resolve(d));
});
const objs = JSON.parse(text);
let bad = 0;
for (const o of objs) {
  const [group, version] = o.apiVersion.includes("/") ? o.apiVersion.split("/") : [null, o.apiVersion];
  const where = `${o.kind}/${o.metadata && o.metadata.name}`;
  let mod;
  try {
    mod = await import(`kubernetes-models/${group ? group + "/" : ""}${version}/${o.kind}`);
  } catch (e) {
    bad++;
    console.log(`${where}: no schema for ${o.apiVersion} ${o.kind}`);
    continue;
  }
  try {
    new mod[o.kind](o).validate();
  } catch (e) {
    bad++;
    console.log(`${where}: ${String(e.message).slice(0, 800)}`);
  }
}
console.log(`schema: ${objs.length - bad} valid, ${bad} invalid`);
process.exit(bad ? 1 : 0);

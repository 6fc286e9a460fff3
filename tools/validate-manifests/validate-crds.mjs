// Strict validation of prometheus-operator custom resources (ServiceMonitor, PodMonitor, PrometheusRule,
// AlertmanagerConfig, …) against the OpenAPI schemas shipped in @kubernetes-models/prometheus-operator.
//
// Why not just `model.validate()`: the package's validators (compiled from the CRDs' OpenAPI schemas) accept
// unknown fields, because Kubernetes prunes them. A typo such as `endpointz` would then pass and silently do
// nothing in a cluster. Like `kubeconform -strict`, we reject every property a schema object does not declare.
//
// How: the compiled validator reads each property its schema declares (`data.endpoints`, …). We validate a Proxy
// of the document that records, per object, which keys the validator read; a key it never read is undeclared.
// An object whose keys the validator enumerates (a map: `labels`, `annotations`, additionalProperties) accepts
// any key. The validator is the package's own; only the "unknown field" rule is added here.
//
// Usage: node validate-crds.mjs FILE.yaml…   (prints one line per document; exit 1 on any error)
// Documents of other API groups are skipped (core objects are checked by kubernetes-validate --strict).

import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import * as v1 from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import * as v1alpha1 from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1alpha1";
import * as v1beta1 from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1beta1";

const GROUP = "monitoring.coreos.com";
const MODELS = { v1, v1alpha1, v1beta1 };
// Top-level fields every Kubernetes object may carry (the schema's root object declares them too).
const ROOT = new Set(["apiVersion", "kind", "metadata", "spec"]);

/** Wraps `root` so that every property read and every key enumeration is recorded. */
function tracked(root) {
  const read = new Map(); // original object -> Set of keys read
  const enumerated = new Set(); // original objects whose keys were listed
  const proxies = new WeakMap();
  const wrap = (obj) => {
    if (obj === null || typeof obj !== "object") return obj;
    if (proxies.has(obj)) return proxies.get(obj);
    read.set(obj, new Set());
    const note = (t, k) => typeof k === "string" && read.get(t).add(k);
    const p = new Proxy(obj, {
      get(t, k, r) { note(t, k); return wrap(Reflect.get(t, k, r)); },
      has(t, k) { note(t, k); return Reflect.has(t, k); },
      ownKeys(t) { enumerated.add(t); return Reflect.ownKeys(t); },
    });
    proxies.set(obj, p);
    return p;
  };
  return { proxy: wrap(root), read, enumerated };
}

/** Undeclared properties: `path.key` of every object key the validator never read. */
function unknownFields(node, t, path, out) {
  if (Array.isArray(node)) {
    node.forEach((x, i) => unknownFields(x, t, `${path}[${i}]`, out));
  } else if (node !== null && typeof node === "object") {
    const seen = t.read.get(node);
    const isMap = t.enumerated.has(node);
    for (const [k, v] of Object.entries(node)) {
      if (seen && !isMap && !seen.has(k)) out.push(`${path}.${k}: unknown field (not declared by the schema)`);
      else unknownFields(v, t, `${path}.${k}`, out);
    }
  }
}

/** Errors of one document (empty when valid), or null when the document is not a prometheus-operator object. */
export function validateDocument(doc) {
  const [group, version] = String(doc?.apiVersion ?? "").split("/");
  if (group !== GROUP) return null;
  const Model = MODELS[version]?.[doc.kind];
  if (!Model) return [`no schema for ${doc.apiVersion} ${doc.kind} in @kubernetes-models/prometheus-operator`];
  const errors = Object.keys(doc).filter((k) => !ROOT.has(k)).map((k) => `.${k}: unknown top-level field`);
  const t = tracked(doc);
  try {
    // The package's own validate function, applied to the tracking proxy instead of a copy of the document.
    Model.prototype.validate.call(t.proxy);
  } catch (e) {
    errors.push(String(e.message ?? e));
  }
  unknownFields(doc, t, "", errors);
  return errors;
}

function main(files) {
  let failed = 0;
  let checked = 0;
  for (const file of files) {
    const docs = parseAllDocuments(readFileSync(file, "utf8"));
    docs.forEach((d, i) => {
      if (d.errors.length) {
        failed++;
        console.log(`FAIL ${file}#${i}: YAML: ${d.errors.map((e) => e.message).join("; ")}`);
        return;
      }
      const doc = d.toJS();
      if (doc === null) return;
      const errors = validateDocument(doc);
      if (errors === null) return;
      checked++;
      const name = `${file}#${i} (${doc.kind} ${doc.metadata?.name ?? "?"})`;
      if (errors.length) {
        failed++;
        console.log(`FAIL ${name}:\n  ${errors.join("\n  ")}`);
      } else {
        console.log(`ok   ${name}`);
      }
    });
  }
  console.log(`${checked} prometheus-operator objects checked, ${failed} invalid`);
  process.exit(failed ? 1 : 0);
}

main(process.argv.slice(2));

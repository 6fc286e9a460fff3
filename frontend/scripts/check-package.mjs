#!/usr/bin/env node
// Checks a built plugin package as Grafana will load it:
//  - the files Grafana and the catalog need are present (module.js, plugin.json, logos, README, CHANGELOG, LICENSE);
//  - plugin.json is valid: the schema's required fields, placeholders replaced, the flags a backend data source
//    needs, and `executable` consistent with the shipped binaries (<executable>_linux_<arch>);
//  - each binary is an ELF executable of its architecture, mode 0755, and answers the go-plugin handshake
//    (`1|2|tcp|127.0.0.1:<port>|grpc` on stdout) when launched the way Grafana launches it;
//  - the zip holds exactly this folder under one top-level directory named after the plugin id.
// Usage: node check-package.mjs <package dir> [zip]     Exit status 0 = all good; every problem is printed.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const [dir, zip] = process.argv.slice(2);
if (!dir) {
  console.error('usage: check-package.mjs <package dir> [zip]');
  process.exit(2);
}
const problems = [];
const fail = (msg) => problems.push(msg);
const ok = (msg) => console.log(`  ok  ${msg}`);

const PLUGIN_ID = 'infermon-inference-datasource';
const ELF_MACHINE = { amd64: 0x3e, arm64: 0xb7 };

// --- files ---
for (const f of ['module.js', 'plugin.json', 'README.md', 'CHANGELOG.md', 'LICENSE']) {
  if (fs.existsSync(path.join(dir, f)) && fs.statSync(path.join(dir, f)).size > 0) {
    ok(f);
  } else {
    fail(`${f}: missing or empty`);
  }
}
const moduleJs = fs.existsSync(path.join(dir, 'module.js')) ? fs.readFileSync(path.join(dir, 'module.js'), 'utf8') : '';
if (/\bdefine\(\[/.test(moduleJs.slice(0, 4000))) {
  ok('module.js is an AMD module');
} else {
  fail('module.js: not an AMD module (Grafana loads plugins with define([...]))');
}

// --- plugin.json ---
let pj = {};
try {
  pj = JSON.parse(fs.readFileSync(path.join(dir, 'plugin.json'), 'utf8'));
} catch (e) {
  fail(`plugin.json: not valid JSON: ${e.message}`);
}
const need = (cond, msg) => (cond ? ok(msg) : fail(`plugin.json: ${msg}`));
need(pj.id === PLUGIN_ID, `id is ${PLUGIN_ID}`);
need(/^[0-9a-z]+-([0-9a-z]+-)?datasource$/.test(pj.id ?? ''), 'id matches <org>-<name>-datasource');
need(pj.type === 'datasource', 'type is datasource');
need(typeof pj.name === 'string' && pj.name.length > 0, 'name is set');
need(pj.backend === true && pj.alerting === true && pj.metrics === true, 'backend, alerting and metrics are true');
need(pj.executable === 'gpx_infermon', 'executable is gpx_infermon');
need(/^\d+\.\d+\.\d+/.test(pj.info?.version ?? ''), `info.version is a version (${pj.info?.version})`);
need(/^\d{4}-\d{2}-\d{2}$/.test(pj.info?.updated ?? ''), `info.updated is a date (${pj.info?.updated})`);
need(Array.isArray(pj.info?.keywords) && pj.info.keywords.length > 0, 'info.keywords has at least one item');
need(
  typeof pj.dependencies?.grafanaDependency === 'string' && /^[<>=~^]/.test(pj.dependencies.grafanaDependency),
  'dependencies.grafanaDependency is a semver range'
);
for (const size of ['small', 'large']) {
  const logo = pj.info?.logos?.[size];
  need(typeof logo === 'string' && fs.existsSync(path.join(dir, logo)), `info.logos.${size} exists (${logo})`);
}
need(!/%[A-Z_]+%/.test(JSON.stringify(pj)), 'no unreplaced %PLACEHOLDER%');

// --- binaries ---
const binaries = fs.readdirSync(dir).filter((f) => f.startsWith(`${pj.executable}_`));
if (!binaries.some((b) => b === `${pj.executable}_linux_amd64` || b === `${pj.executable}_linux_arm64`)) {
  fail(`no ${pj.executable}_linux_<arch> binary in the package (found: ${binaries.join(', ') || 'none'})`);
}
const hostArch = { x64: 'amd64', arm64: 'arm64' }[process.arch];

async function handshake(file) {
  return new Promise((resolve) => {
    const child = spawn(file, [], {
      env: { grafana_plugin_type: 'datasource', PLUGIN_PROTOCOL_VERSIONS: '2', PATH: process.env.PATH },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    const done = (result) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      resolve(result);
    };
    const timer = setTimeout(
      () => done({ ok: false, why: `no handshake line within 15 s (stdout: ${JSON.stringify(out)})` }),
      15000
    );
    child.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        const line = out.slice(0, nl);
        done(
          /^1\|2\|tcp\|127\.0\.0\.1:\d+\|grpc$/.test(line)
            ? { ok: true, line }
            : { ok: false, why: `unexpected first line ${JSON.stringify(line)}` }
        );
      }
    });
    child.on('error', (e) => done({ ok: false, why: e.message }));
    child.on('exit', (code) =>
      done({ ok: false, why: `exited with ${code} before the handshake (stdout: ${JSON.stringify(out)})` })
    );
  });
}

for (const b of binaries) {
  const m = new RegExp(`^${pj.executable}_linux_(amd64|arm64)$`).exec(b);
  if (!m) {
    fail(`${b}: unexpected binary name (expected ${pj.executable}_linux_amd64 / _linux_arm64)`);
    continue;
  }
  const arch = m[1];
  const file = path.join(dir, b);
  const st = fs.statSync(file);
  if ((st.mode & 0o777) === 0o755) {
    ok(`${b} has mode 0755`);
  } else {
    fail(`${b}: mode ${(st.mode & 0o777).toString(8)}, expected 755`);
  }
  const head = Buffer.alloc(20);
  const fd = fs.openSync(file, 'r');
  fs.readSync(fd, head, 0, 20, 0);
  fs.closeSync(fd);
  if (head.readUInt32BE(0) === 0x7f454c46 && head.readUInt16LE(18) === ELF_MACHINE[arch]) {
    ok(`${b} is an ELF executable for ${arch}`);
  } else {
    fail(`${b}: not an ELF executable for ${arch}`);
  }
  if (arch === hostArch) {
    const r = await handshake(file);
    if (r.ok) {
      ok(`${b} answers the handshake: ${r.line}`);
    } else {
      fail(`${b}: handshake failed: ${r.why}`);
    }
  } else {
    console.log(`  --  ${b}: not runnable on this ${hostArch} host; handshake not checked`);
  }
}

// --- zip ---
if (zip) {
  let entries = [];
  try {
    entries = execFileSync('unzip', ['-Z1', zip], { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch (e) {
    fail(`${zip}: cannot list: ${e.message}`);
  }
  const tops = new Set(entries.map((e) => e.split('/')[0]));
  if (tops.size === 1 && tops.has(PLUGIN_ID)) {
    ok(`zip has the single top folder ${PLUGIN_ID}/`);
  } else {
    fail(`zip: top-level entries ${[...tops].join(', ')}; expected only ${PLUGIN_ID}/`);
  }
  const walk = (d, prefix = '') =>
    fs
      .readdirSync(d, { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]));
  const files = walk(dir)
    .map((f) => `${PLUGIN_ID}/${f}`)
    .sort();
  const zipped = entries.filter((e) => !e.endsWith('/')).sort();
  if (JSON.stringify(files) === JSON.stringify(zipped)) {
    ok(`zip holds the ${files.length} files of the folder`);
  } else {
    fail(`zip: files differ from the folder (folder ${files.length}, zip ${zipped.length})`);
  }
  const modes = execFileSync('zipinfo', [zip], { encoding: 'utf8' });
  for (const b of binaries) {
    const line = modes.split('\n').find((l) => l.endsWith(`${PLUGIN_ID}/${b}`));
    if (line && line.startsWith('-rwxr-xr-x')) {
      ok(`zip keeps ${b} executable`);
    } else {
      fail(`zip: ${b} is not stored as executable (${line})`);
    }
  }
}

if (problems.length) {
  console.error(`\npackage check FAILED (${problems.length}):`);
  for (const p of problems) {
    console.error(`  - ${p}`);
  }
  process.exit(1);
}
console.log('\npackage check passed');

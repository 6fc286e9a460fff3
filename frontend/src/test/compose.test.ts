/**
 * docker-compose.yaml (repository root) is consistent with the plugin and the provisioning: Grafana mounts the
 * packaged plugin under its id and allows it unsigned, Prometheus reads the simulator's file_sd targets and
 * infermon's rule files, and the provisioned Inference data source (uid `infermon`) uses only settings keys of the
 * contract and a URL the compose network provides. Docker itself cannot run here; this checks the file's content.
 */
import fs from 'fs';
import path from 'path';
import yaml from 'js-yaml';

import pluginJson from '../plugin.json';

const ROOT = path.resolve(__dirname, '../../..');
const load = (p: string) => yaml.load(fs.readFileSync(p, 'utf8')) as any;

const compose = load(path.join(ROOT, 'docker-compose.yaml'));
const grafana = compose.services.grafana;
const prometheus = compose.services.prometheus;
const sim = compose.services.sim;
const promConfig = yaml.load(compose.configs.prometheus_yml.content) as any;

/** The settings keys the backend reads (frontend/README.md, "Settings contract"). */
const JSON_DATA_KEYS = [
  'httpMethod',
  'timeoutSeconds',
  'tlsSkipVerify',
  'tgiModelLabel',
  'backendOverride',
  'recordingRules',
  'scrapeInterval',
  'basicAuth',
  'basicAuthUser',
];
const SECURE_KEYS = ['basicAuthPassword', 'bearerToken'];

describe('docker-compose.yaml', () => {
  it('mounts the packaged plugin under its id and allows it unsigned', () => {
    expect(grafana.volumes).toContain(`./dist/${pluginJson.id}:/var/lib/grafana/plugins/${pluginJson.id}:ro`);
    expect(grafana.environment.GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS.split(',')).toContain(pluginJson.id);
    expect(grafana.volumes).toContain('./provisioning:/etc/grafana/provisioning:ro');
  });

  it('puts Prometheus and Grafana in the simulator network namespace and publishes their ports there', () => {
    expect(prometheus.network_mode).toBe('service:sim');
    expect(grafana.network_mode).toBe('service:sim');
    expect(sim.ports).toEqual(expect.arrayContaining(['3000:3000', '9090:9090']));
    expect(prometheus.command).toContain('--web.listen-address=127.0.0.1:9090');
  });

  it('scrapes the file_sd targets the simulator writes, through a shared volume', () => {
    const fileSd = sim.command[sim.command.indexOf('--file-sd') + 1];
    const files = promConfig.scrape_configs.flatMap((s: any) => s.file_sd_configs.flatMap((f: any) => f.files));
    expect(files).toContain(fileSd);
    const dir = path.dirname(fileSd);
    expect(sim.volumes).toContain(`sd:${dir}`);
    expect(prometheus.volumes).toContain(`sd:${dir}:ro`);
  });

  it("loads infermon's rule files from the repository", () => {
    const mount = prometheus.volumes.find((v: string) => v.endsWith(':/etc/prometheus/rules:ro'));
    const hostDir = path.join(ROOT, mount.split(':')[0]);
    const rules = fs.readdirSync(hostDir).filter((f) => f.endsWith('.yml'));
    expect(rules.length).toBeGreaterThan(0);
    expect(promConfig.rule_files).toEqual(['/etc/prometheus/rules/*.yml']);
  });

  const dsDir = path.join(ROOT, 'provisioning/datasources');
  const provisioned = fs.existsSync(dsDir)
    ? fs
        .readdirSync(dsDir)
        .filter((f) => /\.ya?ml$/.test(f))
        .flatMap((f) => (load(path.join(dsDir, f))?.datasources ?? []) as any[])
        .filter((d) => d.type === pluginJson.id)
    : [];
  const providersFile = path.join(ROOT, 'provisioning/dashboards/infermon.yaml');
  (fs.existsSync(providersFile) ? it : it.skip)(
    'the dashboards provider path is where compose mounts the dashboards',
    () => {
      for (const p of load(providersFile).providers) {
        const rel = path.posix.relative('/etc/grafana/provisioning', p.options.path);
        expect(rel.startsWith('..')).toBe(false);
        const files = fs.readdirSync(path.join(ROOT, 'provisioning', rel)).filter((f) => f.endsWith('.json'));
        expect(files.length).toBeGreaterThan(0);
      }
    }
  );

  (provisioned.length ? it : it.skip)(
    'the provisioned Inference data source has uid infermon, a URL compose provides, and only contract settings',
    () => {
      const ds = provisioned.find((d) => d.uid === 'infermon');
      expect(ds).toBeDefined();
      // Grafana shares the simulator's loopback; Prometheus listens on 127.0.0.1:9090 there (directly or through
      // an environment variable Grafana expands in provisioning files)
      const url = String(ds.url).replace(/^\$\{?(\w+)\}?$/, (_m: string, v: string) => String(grafana.environment[v]));
      expect(url).toMatch(/^http:\/\/(127\.0\.0\.1|localhost):9090\/?$/);
      for (const k of Object.keys(ds.jsonData ?? {})) {
        expect(JSON_DATA_KEYS.includes(k) || /^httpHeaderName[0-9]+$/.test(k) ? k : `unknown jsonData key ${k}`).toBe(
          k
        );
      }
      for (const k of Object.keys(ds.secureJsonData ?? {})) {
        expect(
          SECURE_KEYS.includes(k) || /^httpHeaderValue[0-9]+$/.test(k) ? k : `unknown secureJsonData key ${k}`
        ).toBe(k);
      }
    }
  );
});

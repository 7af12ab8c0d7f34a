import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { ZodIssue } from 'zod';
import { projectRoot } from '../util/project-root';
import { configSchema, type Config } from './schema';

/** Thrown when the configuration cannot be used; the message names the offending key. */
export class ConfigError extends Error {
  constructor(
    message: string,
    readonly key?: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Plain = Record<string, unknown>;

/**
 * Environment overrides, documented in the README and config/default.yaml.
 * PARLEY_SIP_PORT sets both the UDP and the TCP port, like a SIP server's usual "port".
 */
export const ENV_OVERRIDES: ReadonlyArray<{
  env: string;
  paths: string[];
  type: 'string' | 'number' | 'nullable-number' | 'list';
}> = [
  { env: 'PARLEY_LOG_LEVEL', paths: ['log.level'], type: 'string' },
  { env: 'PARLEY_SIP_IP', paths: ['sip.listen.ip'], type: 'string' },
  { env: 'PARLEY_SIP_PORT', paths: ['sip.listen.udp', 'sip.listen.tcp'], type: 'nullable-number' },
  { env: 'PARLEY_SIP_UDP_PORT', paths: ['sip.listen.udp'], type: 'nullable-number' },
  { env: 'PARLEY_SIP_TCP_PORT', paths: ['sip.listen.tcp'], type: 'nullable-number' },
  { env: 'PARLEY_SIP_TLS_PORT', paths: ['sip.listen.tls'], type: 'nullable-number' },
  { env: 'PARLEY_SIP_WS_PORT', paths: ['sip.listen.ws'], type: 'nullable-number' },
  { env: 'PARLEY_SIP_PUBLIC_HOST', paths: ['sip.publicHost'], type: 'string' },
  { env: 'PARLEY_SIP_TLS_CERT', paths: ['sip.tls.cert'], type: 'string' },
  { env: 'PARLEY_SIP_TLS_KEY', paths: ['sip.tls.key'], type: 'string' },
  { env: 'PARLEY_HTTP_IP', paths: ['http.ip'], type: 'string' },
  { env: 'PARLEY_HTTP_PORT', paths: ['http.port'], type: 'number' },
  { env: 'PARLEY_RTC_LISTEN_IP', paths: ['rtc.listenIp'], type: 'string' },
  { env: 'PARLEY_RTC_ANNOUNCED_IP', paths: ['rtc.announcedIp'], type: 'string' },
  { env: 'PARLEY_RTC_MIN_PORT', paths: ['rtc.minPort'], type: 'number' },
  { env: 'PARLEY_RTC_MAX_PORT', paths: ['rtc.maxPort'], type: 'number' },
  { env: 'PARLEY_RTC_NUM_WORKERS', paths: ['rtc.numWorkers'], type: 'number' },
  { env: 'PARLEY_WEBRTC_PORT', paths: ['webrtc.port'], type: 'number' },
  { env: 'PARLEY_TURN_URLS', paths: ['webrtc.turn.urls'], type: 'list' },
  { env: 'PARLEY_TURN_SECRET', paths: ['webrtc.turn.secret'], type: 'string' },
  { env: 'PARLEY_DATA_DIR', paths: ['dataDir'], type: 'string' },
  { env: 'PARLEY_ADMIN_PASSWORD', paths: ['auth.adminPassword'], type: 'string' },
  { env: 'PARLEY_API_TOKEN', paths: ['auth.apiToken'], type: 'string' },
  { env: 'PARLEY_DB_FILE', paths: ['storage.file'], type: 'string' },
  { env: 'PARLEY_UNKNOWN_ROOMS', paths: ['conference.unknownRooms'], type: 'string' },
];

export const DEFAULT_CONFIG_FILE = path.join(projectRoot(), 'config', 'default.yaml');

function isPlain(v: unknown): v is Plain {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge: objects merge key by key, everything else (arrays included) is replaced. */
export function deepMerge(base: Plain, over: Plain): Plain {
  const out: Plain = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isPlain(v) && isPlain(out[k]) ? deepMerge(out[k] as Plain, v) : v;
  }
  return out;
}

function setPath(target: Plain, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let node = target;
  for (const k of keys.slice(0, -1)) {
    if (!isPlain(node[k])) node[k] = {};
    node = node[k] as Plain;
  }
  node[keys[keys.length - 1]!] = value;
}

function readYaml(file: string): Plain {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = YAML.parse(text) ?? {};
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid YAML: ${(err as Error).message}`);
  }
  if (!isPlain(doc)) throw new ConfigError(`config file ${file} must hold a mapping at the top level`);
  return doc;
}

function envLayer(env: NodeJS.ProcessEnv): Plain {
  const layer: Plain = {};
  for (const { env: name, paths, type } of ENV_OVERRIDES) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    let value: unknown = raw;
    if (type === 'list')
      value = raw
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean);
    else if (type !== 'string') {
      if (type === 'nullable-number' && (raw === 'off' || raw === 'null')) value = null;
      else {
        value = Number(raw);
        if (!Number.isFinite(value))
          throw new ConfigError(`${name} must be a number (got "${raw}")`, paths[0]);
      }
    }
    for (const p of paths) setPath(layer, p, value);
  }
  return layer;
}

function describe(issue: ZodIssue): string {
  const key = issue.path.join('.') || '(top level)';
  if (issue.code === 'unrecognized_keys') {
    const prefix = issue.path.length ? `${issue.path.join('.')}.` : '';
    return `unknown config key ${issue.keys.map((k) => `"${prefix}${k}"`).join(', ')}`;
  }
  return `config key "${key}": ${issue.message}`;
}

export interface LoadOptions {
  /** Extra file given with --config; merged over config/default.yaml. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Extra values merged last (tests). */
  overrides?: Plain;
  /** Read config/default.yaml first (default true). */
  useDefaultFile?: boolean;
}

/** defaults (schema) ← config/default.yaml ← --config FILE ← environment ← overrides → validate → freeze. */
export function loadConfig(opts: LoadOptions = {}): Readonly<Config> {
  let merged: Plain = {};
  if (opts.useDefaultFile !== false && fs.existsSync(DEFAULT_CONFIG_FILE))
    merged = readYaml(DEFAULT_CONFIG_FILE);
  if (opts.file) merged = deepMerge(merged, readYaml(opts.file));
  merged = deepMerge(merged, envLayer(opts.env ?? process.env));
  if (opts.overrides) merged = deepMerge(merged, opts.overrides);
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    const all = parsed.error.issues.map(describe).join('; ');
    throw new ConfigError(`invalid configuration: ${all}`, first.path.join('.'));
  }
  const cfg = parsed.data;
  if (cfg.rtc.announcedIp === null) cfg.rtc.announcedIp = cfg.rtc.listenIp;
  const names = new Set<string>();
  for (const room of cfg.conference.rooms) {
    if (names.has(room.name))
      throw new ConfigError(
        `config key "conference.rooms": room "${room.name}" declared twice`,
        'conference.rooms',
      );
    names.add(room.name);
  }
  return deepFreeze(cfg);
}

function deepFreeze<T>(o: T): Readonly<T> {
  if (typeof o === 'object' && o !== null) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

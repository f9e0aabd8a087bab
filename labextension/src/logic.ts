/**
 * Pure logic of the side panel and the query console: SQL text, time-range macros, turning query
 * rows into chart series, error lines, history and CSV. No DOM and no JupyterLab imports, so jest
 * tests it directly; the widgets only call these functions.
 */

export type Lang = 'sql' | 'influxql';
export type Row = Record<string, unknown>;

/** A SQL identifier in double quotes (a table or column named `cpu load` or `select` still works). */
export function quoteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

/** A SQL string literal. */
export function quoteString(value: string): string {
  return "'" + value.replace(/'/g, "''") + "'";
}

/** The query the tree offers for a table: its newest rows, newest first. */
export function selectFor(table: string, columns: string[] = [], limit = 100): string {
  const cols = columns.length ? columns.map(quoteIdent).join(', ') : '*';
  return `SELECT ${cols} FROM ${quoteIdent(table)} ORDER BY time DESC LIMIT ${limit}`;
}

/** The query of a cache (what Explorer generates when a cache is clicked). */
export function selectCache(kind: 'last' | 'distinct', table: string, name: string): string {
  const fn = kind === 'last' ? 'last_cache' : 'distinct_cache';
  return `SELECT * FROM ${fn}(${quoteString(table)}, ${quoteString(name)})`;
}

/** The source of a notebook cell that runs `query` with the kernel-side magics. */
export function cellSource(query: string, database: string, lang: Lang = 'sql'): string {
  const magic = lang === 'sql' ? '%%sql' : '%%influxql';
  const db = /^[A-Za-z0-9_.-]+$/.test(database) ? database : JSON.stringify(database);
  return `${magic} -d ${db}\n${query.trim()}`;
}

export const TIME_RANGES: { [key: string]: number | null } = {
  all: null,
  '15m': 15 * 60,
  '1h': 3600,
  '6h': 6 * 3600,
  '24h': 86400,
  '7d': 7 * 86400,
  '30d': 30 * 86400
};

/**
 * Replaces the `$__timeFilter` macro (Grafana's name) with the picked range: a condition on
 * `time` relative to now(), or a condition that is always true for "all". A query without the
 * macro is sent as written, so the picker never rewrites what the user typed.
 */
export function applyTimeRange(query: string, range: string, lang: Lang): string {
  if (!(range in TIME_RANGES)) {
    throw new Error(`unknown time range ${range}`);
  }
  const seconds = TIME_RANGES[range];
  let cond: string;
  if (seconds === null) {
    cond = lang === 'sql' ? 'true' : 'time > 0';
  } else if (lang === 'sql') {
    cond = `time >= now() - INTERVAL '${seconds} seconds'`;
  } else {
    cond = `time > now() - ${seconds}s`;
  }
  return query.replace(/\$__timeFilter/g, cond);
}

/** One clear line from an API error answer (the InfluxDB 3 shapes: `{"error": …}`,
 * `{"message": …}`, `{"error": …, "data": [...]}` of a partial write, or plain text). */
export function errorLine(status: number, body: string): string {
  let text = body.trim();
  try {
    const parsed = JSON.parse(text);
    if (parsed && typeof parsed === 'object') {
      text = String(parsed.error ?? parsed.message ?? parsed.detail ?? text);
    }
  } catch {
    // not JSON: the text itself
  }
  const first = text.split('\n').find(l => l.trim()) ?? '';
  return first ? `${status}: ${first}` : `${status}: request failed`;
}

export interface ILineError {
  line_number: number;
  error_message: string;
  original_line: string;
}

/** The per-line errors of a write answer (`data` of a 400 partial write), in line order. */
export function lineErrors(body: string): ILineError[] {
  try {
    const parsed = JSON.parse(body);
    const data = parsed?.data;
    const list = Array.isArray(data) ? data : data ? [data] : [];
    return list
      .filter((e: any) => e && typeof e === 'object')
      .map((e: any) => ({
        line_number: Number(e.line_number ?? 0),
        error_message: String(e.error_message ?? ''),
        original_line: String(e.original_line ?? '')
      }))
      .sort((a: ILineError, b: ILineError) => a.line_number - b.line_number);
  } catch {
    return [];
  }
}

/** How many non-empty, non-comment lines a line-protocol text holds. */
export function countLines(lp: string): number {
  return lp.split('\n').filter(l => l.trim() && !l.trim().startsWith('#')).length;
}

/** Column names of JSON rows in first-seen order (InfluxDB leaves null fields out of a row). */
export function columnsOf(rows: Row[]): string[] {
  const seen = new Set<string>();
  for (const row of rows) {
    for (const k in row) {
      seen.add(k);
    }
  }
  const cols = [...seen];
  const t = cols.indexOf('time');
  if (t > 0) {
    cols.splice(t, 1);
    cols.unshift('time');
  }
  return cols;
}

/** Milliseconds since the epoch of a `time` value as the API writes it (RFC 3339, no zone = UTC). */
export function parseTime(value: unknown): number | null {
  if (typeof value === 'number') {
    return value;
  }
  if (typeof value !== 'string' || !value) {
    return null;
  }
  const zoned = /([zZ]|[+-]\d\d:?\d\d)$/.test(value) ? value : value + 'Z';
  const ms = Date.parse(zoned);
  return Number.isNaN(ms) ? null : ms;
}

export interface ISeries {
  label: string;
  values: (number | null)[];
}

export interface IChartData {
  /** x values in seconds (uPlot's unit), ascending. */
  xs: number[];
  series: ISeries[];
}

/**
 * Rows → chart data: x is `time`; one series per numeric column and tag set (the string columns
 * of a row), as Explorer and Chronograf draw them. Rows without a time are left out. Values are
 * aligned on the union of times (null where a series has no point), as uPlot wants.
 */
export function toChart(rows: Row[], columns?: string[]): IChartData {
  const cols = columns ?? columnsOf(rows);
  if (!cols.includes('time')) {
    return { xs: [], series: [] };
  }
  const numeric: string[] = [];
  const tags: string[] = [];
  for (const c of cols) {
    if (c === 'time') {
      continue;
    }
    const sample = rows.find(r => r[c] !== undefined && r[c] !== null)?.[c];
    if (typeof sample === 'number') {
      numeric.push(c);
    } else if (typeof sample === 'string') {
      tags.push(c);
    }
  }
  const times: number[] = [];
  const keys: string[] = [];
  for (const row of rows) {
    const ms = parseTime(row['time']);
    times.push(ms === null ? NaN : ms / 1000);
    keys.push(tags.map(t => (row[t] === undefined ? '' : `${t}=${row[t]}`)).filter(Boolean).join(','));
  }
  const xs = [...new Set(times.filter(t => !Number.isNaN(t)))].sort((a, b) => a - b);
  const index = new Map<number, number>();
  xs.forEach((x, i) => index.set(x, i));
  const byLabel = new Map<string, ISeries>();
  const series: ISeries[] = [];
  for (let r = 0; r < rows.length; r++) {
    const i = index.get(times[r]);
    if (i === undefined) {
      continue;
    }
    for (const field of numeric) {
      const v = rows[r][field];
      if (typeof v !== 'number') {
        continue;
      }
      const label = keys[r] ? `${field} {${keys[r]}}` : field;
      let s = byLabel.get(label);
      if (!s) {
        s = { label, values: new Array(xs.length).fill(null) };
        byLabel.set(label, s);
        series.push(s);
      }
      s.values[i] = v;
    }
  }
  return { xs, series };
}

/** A CSV text of rows (RFC 4180 quoting). */
export function toCsv(rows: Row[], columns?: string[]): string {
  const cols = columns ?? columnsOf(rows);
  const cell = (v: unknown): string => {
    if (v === undefined || v === null) {
      return '';
    }
    const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
    return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  };
  const lines = [cols.map(cell).join(',')];
  for (const row of rows) {
    lines.push(cols.map(c => cell(row[c])).join(','));
  }
  return lines.join('\n') + '\n';
}

export interface IHistoryEntry {
  query: string;
  lang: Lang;
  database: string;
  at: number;
}

/** History with `entry` first, an identical earlier entry dropped, at most `max` entries. */
export function pushHistory(history: IHistoryEntry[], entry: IHistoryEntry, max: number): IHistoryEntry[] {
  const same = (h: IHistoryEntry) =>
    h.query === entry.query && h.lang === entry.lang && h.database === entry.database;
  return [entry, ...history.filter(h => !same(h))].slice(0, Math.max(0, max));
}

export interface IColumn {
  name: string;
  kind: string; // tag, time, float, integer, uinteger, string, boolean
}

export interface ITable {
  name: string;
  columns: IColumn[];
  lastCaches: string[];
  distinctCaches: string[];
}

/** Tables of a database from `system.influxdb_schema` rows (measurement, key, data_type) and the
 * cache lists (`system.last_caches` / `system.distinct_caches` rows: table, name), sorted by name. */
export function buildTables(schema: Row[], lastCaches: Row[] = [], distinctCaches: Row[] = []): ITable[] {
  const tables = new Map<string, ITable>();
  const get = (name: string): ITable => {
    let t = tables.get(name);
    if (!t) {
      t = { name, columns: [], lastCaches: [], distinctCaches: [] };
      tables.set(name, t);
    }
    return t;
  };
  for (const r of schema) {
    get(String(r.measurement)).columns.push({ name: String(r.key), kind: String(r.data_type) });
  }
  for (const r of lastCaches) {
    get(String(r.table)).lastCaches.push(String(r.name));
  }
  for (const r of distinctCaches) {
    get(String(r.table)).distinctCaches.push(String(r.name));
  }
  const order: { [k: string]: number } = { time: 0, tag: 1 };
  for (const t of tables.values()) {
    t.columns.sort((a, b) => (order[a.kind] ?? 2) - (order[b.kind] ?? 2) || a.name.localeCompare(b.name));
  }
  return [...tables.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** Whether a tree item named `name` (or any of its children's names) matches the search text. */
export function matches(term: string, ...names: string[]): boolean {
  const t = term.trim().toLowerCase();
  return !t || names.some(n => n.toLowerCase().includes(t));
}

/** A retention period typed by a user ("30d", "12h", "none") checked before it is sent. */
export function checkRetention(text: string): string {
  const t = text.trim();
  if (t === '' || t === 'none') {
    return 'none';
  }
  if (!/^(\d+(ns|us|ms|s|m|h|d|w|y))+$/.test(t)) {
    throw new Error(`not a duration: ${text} (e.g. 30d, 12h, 1w, or none)`);
  }
  return t;
}

/** A human retention from nanoseconds (the database list's `retention_period_ns`). */
export function formatRetention(ns: unknown): string {
  const n = Number(ns);
  if (!ns || !Number.isFinite(n) || n <= 0) {
    return '';
  }
  const s = n / 1e9;
  for (const [unit, size] of [
    ['w', 604800],
    ['d', 86400],
    ['h', 3600],
    ['m', 60]
  ] as [string, number][]) {
    if (s >= size && s % size === 0) {
      return `${s / size}${unit}`;
    }
  }
  return `${s}s`;
}

/** Database and table names as the API accepts them (letters, digits, -, _ ; at most 64). */
export function checkName(name: string, what = 'name'): string {
  const n = name.trim();
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(n)) {
    throw new Error(`invalid ${what} "${name}": letters, digits, - and _, at most 64, starting with a letter or digit`);
  }
  return n;
}

/**
 * Trigger arguments typed as a JSON object. The API takes strings only, so a value that is not a
 * string (a number, a list, an object: what plugins such as signal_generator expect as JSON) is
 * sent as its JSON text, which the plugin parses. Empty text means no arguments.
 */
export function triggerArguments(text: string): Record<string, string> | null {
  if (!text.trim()) {
    return null;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`arguments are not JSON: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error('arguments must be a JSON object of names to values');
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed as object)) {
    out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return Object.keys(out).length ? out : null;
}

export interface IPluginArg {
  name: string;
  example: string;
  description: string;
  required: boolean;
}

export interface IPluginMetadata {
  types: string[];
  args: IPluginArg[];
}

/**
 * The metadata of an InfluxDB 3 plugin: the JSON docstring at the top of its file (`plugin_type`
 * and `scheduled_args_config` / `onwrite_args_config` / `http_args_config` lists). Read from the raw
 * source text, not an unescaped docstring (a `\"` inside stays valid JSON). A file without it
 * has no metadata (the form then offers free JSON arguments only).
 */
export function pluginMetadata(source: string): IPluginMetadata | null {
  const m = /^\s*(?:#[^\n]*\n\s*)*[rRuU]?("""|''')([\s\S]*?)\1/.exec(source);
  if (!m) {
    return null;
  }
  let doc: any;
  try {
    doc = JSON.parse(m[2]);
  } catch {
    return null;
  }
  if (!doc || typeof doc !== 'object') {
    return null;
  }
  const types: string[] = Array.isArray(doc.plugin_type) ? doc.plugin_type.map(String) : [];
  const args: IPluginArg[] = [];
  const seen = new Set<string>();
  for (const key of Object.keys(doc).filter(k => /^(scheduled|onwrite|http)_args_config$/.test(k))) {
    for (const a of Array.isArray(doc[key]) ? doc[key] : []) {
      if (a && typeof a === 'object' && a.name && !seen.has(String(a.name))) {
        seen.add(String(a.name));
        args.push({
          name: String(a.name),
          example: a.example === undefined ? '' : String(a.example),
          description: a.description === undefined ? '' : String(a.description),
          required: a.required === true || a.required === 'true'
        });
      }
    }
  }
  return { types, args };
}

/** The trigger specification a plugin type starts with (the user can change it). */
export function defaultSpecification(types: string[], pluginName: string): string {
  const base = pluginName.replace(/\.py$/, '').replace(/[^A-Za-z0-9_-]/g, '_');
  if (types.includes('onwrite')) {
    return 'all_tables';
  }
  if (types.includes('scheduled')) {
    return 'every:1m';
  }
  if (types.includes('http')) {
    return `request:${base}`;
  }
  return 'all_tables';
}

/** Trigger arguments from a generated form: the named fields (empty ones left out, required ones
 * checked) merged with the free JSON arguments, the named fields winning. */
export function formArguments(values: Record<string, string>, args: IPluginArg[], extraJson: string): Record<string, string> | null {
  const out: Record<string, string> = { ...(triggerArguments(extraJson) ?? {}) };
  const missing: string[] = [];
  for (const a of args) {
    const v = (values[`arg:${a.name}`] ?? '').trim();
    if (v) {
      out[a.name] = v;
    } else if (a.required && !(a.name in out)) {
      missing.push(a.name);
    }
  }
  if (missing.length) {
    throw new Error(`required argument${missing.length > 1 ? 's' : ''} missing: ${missing.join(', ')}`);
  }
  return Object.keys(out).length ? out : null;
}

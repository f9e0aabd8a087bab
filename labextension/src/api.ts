/**
 * The one client of the server extension's Jupyter-authenticated surface (`influx3/jupyter/`):
 * every call goes through `ServerConnection.makeRequest`, so Jupyter's own token or login cookie
 * and XSRF header are used and no InfluxDB token ever lives in the browser. Each method is an
 * InfluxDB 3 API call any client could make; failures throw `ApiError` with one clear line.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { Lang, Row, ITable, buildTables, errorLine, lineErrors, ILineError } from './logic';

export const NAMESPACE = 'influx3/jupyter';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: string
  ) {
    super(errorLine(status, body));
  }
}

export interface IInfo {
  version: string;
  node_id: string | null;
  data_dir: string;
  health: string;
  processing_engine: boolean;
  plugin_dir: string | null;
  plugin_dir_in_root: string | null;
  flight: string | null;
}

export interface IDatabase {
  name: string;
  retentionNs: number | null;
}

export interface ITrigger {
  trigger_name: string;
  plugin_filename: string;
  trigger_specification: string;
  disabled: boolean;
  error_behavior: string;
}

export interface IWriteResult {
  ok: boolean;
  message: string;
  errors: ILineError[];
}

export interface IRemote {
  name: string;
  url: string;
}

export class Api {
  /** The remote server the API calls go to (its name), or null for this Jupyter server's engine. */
  connection: string | null = null;

  constructor(readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()) {}

  /** A client of the same connection that does not follow later switches (a console keeps its server). */
  pinned(): Api {
    const a = new Api(this.settings);
    a.connection = this.connection;
    return a;
  }

  /** A request under `influx3/jupyter/`; API paths go through the remote proxy when connected to
   * a remote. Non-2xx answers throw `ApiError`. */
  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const routed = this.connection && /^api\//.test(path) ? `remote/${encodeURIComponent(this.connection)}/${path}` : path;
    const url = URLExt.join(this.settings.baseUrl, NAMESPACE, routed);
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, this.settings);
    } catch (err) {
      throw new ApiError(0, `cannot reach the Jupyter server: ${err}`);
    }
    if (!response.ok) {
      throw new ApiError(response.status, await response.text());
    }
    return response;
  }

  async json<T>(path: string, init: RequestInit = {}): Promise<T> {
    const text = await (await this.request(path, init)).text();
    return (text ? JSON.parse(text) : null) as T;
  }

  private send(method: string, path: string, body?: unknown): Promise<Response> {
    return this.request(path, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' }
    });
  }

  async info(): Promise<IInfo> {
    if (!this.connection) {
      return this.json<IInfo>('info');
    }
    const remote = (await this.remotes()).find(r => r.name === this.connection);
    const health = await this.request('api/v3/configure/database?format=json').then(
      () => 'pass',
      err => `fail (${err.message})`
    );
    return {
      version: '',
      node_id: null,
      data_dir: remote?.url ?? '',
      health,
      processing_engine: false,
      plugin_dir: null,
      plugin_dir_in_root: null,
      flight: null
    };
  }

  async remotes(): Promise<IRemote[]> {
    return (await this.json<{ remotes: IRemote[] }>('remotes')).remotes;
  }

  addRemote(name: string, url: string, token: string): Promise<Response> {
    return this.send('POST', 'remotes', { name, url, token });
  }

  removeRemote(name: string): Promise<Response> {
    return this.request('remotes' + URLExt.objectToQueryString({ name }), { method: 'DELETE' });
  }

  /** Rows of a SQL or InfluxQL query, as JSON objects. */
  async query(database: string, q: string, lang: Lang = 'sql'): Promise<Row[]> {
    const path = lang === 'sql' ? 'api/v3/query_sql' : 'api/v3/query_influxql';
    const text = await (await this.send('POST', path, { db: database, q, format: 'json' })).text();
    return text ? (JSON.parse(text) as Row[]) : [];
  }

  /** The same query as a file (csv or parquet), for export. */
  async download(database: string, q: string, lang: Lang, format: 'csv' | 'parquet'): Promise<Blob> {
    const path = lang === 'sql' ? 'api/v3/query_sql' : 'api/v3/query_influxql';
    return (await this.send('POST', path, { db: database, q, format })).blob();
  }

  async databases(): Promise<IDatabase[]> {
    let rows: Row[];
    try {
      rows = await this.query('_internal', 'SELECT database_name, retention_period_ns, deleted FROM system.databases');
    } catch (err) {
      // a server whose token may not read _internal: the plain list, without retention
      const list = await this.json<Row[]>('api/v3/configure/database?format=json');
      rows = (list ?? []).map(r => ({ database_name: r['iox::database'] }));
    }
    return rows
      .filter(r => !r.deleted)
      .map(r => ({ name: String(r.database_name), retentionNs: (r.retention_period_ns as number) ?? null }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async tables(database: string): Promise<ITable[]> {
    const [schema, last, distinct] = await Promise.all([
      this.query(database, 'SELECT measurement, key, data_type FROM system.influxdb_schema'),
      this.query(database, 'SELECT "table", name FROM system.last_caches'),
      this.query(database, 'SELECT "table", name FROM system.distinct_caches')
    ]);
    return buildTables(schema, last, distinct);
  }

  async triggers(database: string): Promise<ITrigger[]> {
    return (await this.query(database, 'SELECT * FROM system.processing_engine_triggers')) as unknown as ITrigger[];
  }

  async logs(database: string, trigger: string): Promise<Row[]> {
    const name = trigger.replace(/'/g, "''");
    return this.query(
      database,
      `SELECT event_time, log_level, log_text FROM system.processing_engine_logs WHERE trigger_name = '${name}' ORDER BY event_time DESC LIMIT 500`
    );
  }

  async tokens(): Promise<Row[]> {
    return this.query('_internal', 'SELECT token_id, name, created_at, expiry, permissions, description FROM system.tokens');
  }

  /** Writes line protocol; a rejected line is reported, not thrown (the others are written). */
  async write(database: string, lp: string, precision: string): Promise<IWriteResult> {
    const query = URLExt.objectToQueryString({ db: database, precision, accept_partial: 'true' });
    try {
      await this.request('api/v3/write_lp' + query, { method: 'POST', body: lp });
      return { ok: true, message: '', errors: [] };
    } catch (err) {
      if (err instanceof ApiError && err.status === 400) {
        return { ok: false, message: err.message, errors: lineErrors(err.body) };
      }
      throw err;
    }
  }

  createDatabase(db: string, retention?: string): Promise<Response> {
    return this.send('POST', 'api/v3/configure/database', retention ? { db, retention_period: retention } : { db });
  }

  deleteDatabase(db: string): Promise<Response> {
    return this.request('api/v3/configure/database' + URLExt.objectToQueryString({ db }), { method: 'DELETE' });
  }

  setRetention(db: string, retention: string): Promise<Response> {
    if (retention === 'none') {
      return this.request('api/v3/configure/database/retention_period' + URLExt.objectToQueryString({ db }), {
        method: 'DELETE'
      });
    }
    return this.send('PUT', 'api/v3/configure/database', { db, retention_period: retention });
  }

  createTable(db: string, table: string, tags: string[], fields: { name: string; type: string }[]): Promise<Response> {
    return this.send('POST', 'api/v3/configure/table', { db, table, tags, fields });
  }

  deleteTable(db: string, table: string): Promise<Response> {
    return this.request('api/v3/configure/table' + URLExt.objectToQueryString({ db, table }), { method: 'DELETE' });
  }

  createCache(kind: 'last' | 'distinct', body: Record<string, unknown>): Promise<Response> {
    return this.send('POST', `api/v3/configure/${kind}_cache`, body);
  }

  deleteCache(kind: 'last' | 'distinct', db: string, table: string, name: string): Promise<Response> {
    const q = URLExt.objectToQueryString({ db, table, name });
    return this.request(`api/v3/configure/${kind}_cache` + q, { method: 'DELETE' });
  }

  createTrigger(body: Record<string, unknown>): Promise<Response> {
    return this.send('POST', 'api/v3/configure/processing_engine_trigger', body);
  }

  setTriggerEnabled(db: string, trigger: string, enabled: boolean): Promise<Response> {
    const q = URLExt.objectToQueryString({ db, trigger_name: trigger });
    return this.request(`api/v3/configure/processing_engine_trigger/${enabled ? 'enable' : 'disable'}` + q, {
      method: 'POST'
    });
  }

  deleteTrigger(db: string, trigger: string): Promise<Response> {
    const q = URLExt.objectToQueryString({ db, trigger_name: trigger, force: 'true' });
    return this.request('api/v3/configure/processing_engine_trigger' + q, { method: 'DELETE' });
  }

  async createToken(kind: 'admin' | 'resource', body: Record<string, unknown>): Promise<Row> {
    const path = kind === 'admin' ? 'api/v3/configure/token/named_admin' : 'api/v3/enterprise/configure/token';
    return (await (await this.send('POST', path, body)).json()) as Row;
  }

  async pluginFiles(): Promise<{ name: string; dir: boolean }[]> {
    return (await this.json<{ plugins: { name: string; dir: boolean }[] }>('plugin_files')).plugins;
  }

  async pluginSource(name: string): Promise<string> {
    return (await this.json<{ source: string }>('plugin_files' + URLExt.objectToQueryString({ name }))).source;
  }

  /** A dry run of a WAL plugin on some line protocol (nothing is written): its log lines, the
   * writes it would make and its errors. */
  async testPlugin(filename: string, database: string, lp: string, args: Record<string, string> | null): Promise<Row> {
    const body: Record<string, unknown> = { filename, database, input_lp: lp };
    if (args) {
      body.input_arguments = args;
    }
    return (await (await this.send('POST', 'api/v3/plugin_test/wal', body)).json()) as Row;
  }

  /** Backup and restore jobs with their state (the Enterprise administration API). */
  async jobs(): Promise<{ backups: Row[]; restores: Row[] }> {
    const [b, r] = await Promise.all([
      this.json<{ backups: Row[] }>('api/v3/enterprise/backup'),
      this.json<{ restores: Row[] }>('api/v3/enterprise/restore')
    ]);
    return { backups: b?.backups ?? [], restores: r?.restores ?? [] };
  }

  createBackup(name: string): Promise<Response> {
    return this.send('POST', 'api/v3/enterprise/backup', name ? { name } : {});
  }

  deleteToken(name: string): Promise<Response> {
    return this.request('api/v3/configure/token' + URLExt.objectToQueryString({ token_name: name }), {
      method: 'DELETE'
    });
  }
}

export type { ITable };

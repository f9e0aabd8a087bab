/**
 * The left panel: connection header (version, node, data directory, health), a search box and the
 * tree databases → tables → columns with retention, cache and trigger badges, plus the tokens.
 * It owns the tree's state and its DOM; what a click or a context-menu entry does is a command
 * (index.ts), which reads the node under the pointer from `target`.
 */
import { Widget } from '@lumino/widgets';

import { Api, IDatabase, IInfo, ITrigger } from './api';
import { ITable, Row, formatRetention, matches } from './logic';

export interface INodeRef {
  kind: 'database' | 'table' | 'column' | 'cache' | 'trigger' | 'token' | 'tokens' | 'admin' | 'job' | 'plugins' | 'plugin';
  db: string;
  table: string;
  name: string;
  cacheKind?: 'last' | 'distinct';
}

function el(tag: string, cls: string, text = ''): HTMLElement {
  const e = document.createElement(tag);
  e.className = cls;
  if (text) {
    e.textContent = text;
  }
  return e;
}

export class Browser extends Widget {
  /** The node the last context menu or click was on. */
  target: INodeRef | null = null;
  /** Set when the tree has been rendered; ms of the last render (measured by the browser test). */
  lastRenderMs = 0;

  private info: IInfo | null = null;
  private databases: IDatabase[] = [];
  private tables = new Map<string, ITable[]>();
  private triggers = new Map<string, ITrigger[]>();
  private tokens: Row[] | null = null;
  private jobs: { backups: Row[]; restores: Row[] } | null = null;
  private plugins: { name: string; dir: boolean }[] | null = null;
  private remoteNames: string[] = [];
  private renderedKey = '';
  private expanded = new Set<string>();
  private error = '';
  private search: HTMLInputElement;
  private headerNode: HTMLElement;
  private treeNode: HTMLElement;
  private timer: number | undefined;
  private loading: Promise<void> | null = null;

  constructor(
    readonly api: Api,
    readonly onActivate: (ref: INodeRef) => void
  ) {
    super();
    this.addClass('jp-Influx3-browser');
    this.title.label = 'Databases';
    this.headerNode = el('div', 'jp-Influx3-header');
    this.search = document.createElement('input');
    this.search.className = 'jp-Influx3-search jp-mod-styled';
    this.search.placeholder = 'Search databases, tables, columns';
    this.search.addEventListener('input', () => void this.onSearch());
    this.treeNode = el('div', 'jp-Influx3-tree');
    this.treeNode.setAttribute('role', 'tree');
    this.node.append(this.headerNode, this.search, this.treeNode);
    this.treeNode.addEventListener('click', e => this.onClick(e));
    this.treeNode.addEventListener('contextmenu', e => {
      this.target = this.refOf(e.target as HTMLElement);
    });
  }

  /** Reloads everything shown: header, databases, and the expanded databases' tables. */
  refresh(): Promise<void> {
    if (!this.loading) {
      this.loading = this.load().finally(() => {
        this.loading = null;
      });
    }
    return this.loading;
  }

  /** Polls every `seconds` (0 stops polling). */
  setPoll(seconds: number): void {
    window.clearInterval(this.timer);
    if (seconds > 0) {
      this.timer = window.setInterval(() => {
        if (this.isVisible) {
          void this.refresh();
        }
      }, seconds * 1000);
    }
  }

  dispose(): void {
    window.clearInterval(this.timer);
    super.dispose();
  }

  /** Table names and their columns of a loaded database (the console's completion). */
  schemaOf(db: string): { [table: string]: string[] } {
    const out: { [table: string]: string[] } = {};
    for (const t of this.tables.get(db) ?? []) {
      out[t.name] = t.columns.map(c => c.name);
    }
    return out;
  }

  get serverInfo(): IInfo | null {
    return this.info;
  }

  databaseNames(): string[] {
    return this.databases.map(d => d.name);
  }

  async ensureTables(db: string): Promise<void> {
    if (!this.tables.has(db)) {
      await this.loadDatabase(db);
      this.render();
    }
  }

  /** A search looks into every database, so the tables of those not opened yet are loaded first. */
  private async onSearch(): Promise<void> {
    this.render();
    const missing = this.databases.filter(d => !this.tables.has(d.name));
    if (this.search.value.trim() && missing.length) {
      await Promise.all(missing.map(d => this.loadDatabase(d.name).catch(() => undefined)));
      this.render();
    }
  }

  private async load(): Promise<void> {
    try {
      const [info, dbs, remotes] = await Promise.all([
        this.api.info(),
        this.api.databases(),
        this.api.remotes().catch(() => [])
      ]);
      this.remoteNames = remotes.map(r => r.name);
      this.info = info;
      this.databases = dbs;
      const names = new Set(dbs.map(d => d.name));
      await Promise.all([...this.expanded].filter(k => names.has(k)).map(db => this.loadDatabase(db)));
      if (this.expanded.has('#tokens')) {
        this.tokens = await this.api.tokens();
      }
      if (this.expanded.has('#admin')) {
        this.jobs = await this.api.jobs();
      }
      if (this.expanded.has('#plugins') && info.processing_engine) {
        this.plugins = await this.api.pluginFiles();
      }
      this.error = '';
    } catch (err) {
      this.error = String((err as Error).message ?? err);
    }
    this.render();
  }

  private async loadDatabase(db: string): Promise<void> {
    const [tables, triggers] = await Promise.all([
      this.api.tables(db),
      this.api.triggers(db).catch(() => [] as ITrigger[])
    ]);
    this.tables.set(db, tables);
    this.triggers.set(db, triggers);
  }

  private refOf(target: HTMLElement | null): INodeRef | null {
    const item = target?.closest('[data-kind]') as HTMLElement | null;
    if (!item) {
      return null;
    }
    const d = item.dataset;
    return {
      kind: d.kind as INodeRef['kind'],
      db: d.db ?? '',
      table: d.table ?? '',
      name: d.name ?? '',
      cacheKind: d.cacheKind as INodeRef['cacheKind']
    };
  }

  private async onClick(e: MouseEvent): Promise<void> {
    const ref = this.refOf(e.target as HTMLElement);
    if (!ref) {
      return;
    }
    this.target = ref;
    const toggle = (e.target as HTMLElement).closest('.jp-Influx3-caret, .jp-Influx3-label');
    const key = ref.kind === 'database' ? ref.db : ref.kind === 'table' ? `${ref.db}/${ref.table}` : ref.kind === 'tokens' ? '#tokens' : ref.kind === 'admin' ? '#admin' : ref.kind === 'plugins' ? '#plugins' : '';
    if (key && toggle) {
      if (this.expanded.has(key)) {
        this.expanded.delete(key);
      } else {
        this.expanded.add(key);
        try {
          if (ref.kind === 'database' && !this.tables.has(ref.db)) {
            await this.loadDatabase(ref.db);
          } else if (ref.kind === 'tokens') {
            this.tokens = await this.api.tokens();
          } else if (ref.kind === 'admin') {
            this.jobs = await this.api.jobs();
          } else if (ref.kind === 'plugins') {
            this.plugins = await this.api.pluginFiles();
          }
        } catch (err) {
          this.error = String((err as Error).message ?? err);
        }
      }
      this.render();
      return;
    }
    if (e.detail === 2) {
      this.onActivate(ref);
    }
  }

  private item(ref: INodeRef, label: string, opts: { expandable?: boolean; open?: boolean; icon?: string; depth: number }): HTMLElement {
    const row = el('div', `jp-Influx3-item jp-Influx3-${ref.kind}`);
    row.dataset.kind = ref.kind;
    row.dataset.db = ref.db;
    row.dataset.table = ref.table;
    row.dataset.name = ref.name;
    if (ref.cacheKind) {
      row.dataset.cacheKind = ref.cacheKind;
    }
    row.setAttribute('role', 'treeitem');
    row.style.paddingLeft = `${4 + opts.depth * 14}px`;
    const caret = el('span', 'jp-Influx3-caret', opts.expandable ? (opts.open ? '▾' : '▸') : '');
    row.append(caret);
    if (opts.icon) {
      row.append(el('span', 'jp-Influx3-icon', opts.icon));
    }
    row.append(el('span', 'jp-Influx3-label', label));
    if (opts.expandable) {
      row.setAttribute('aria-expanded', String(!!opts.open));
    }
    return row;
  }

  private badge(row: HTMLElement, text: string, cls: string, title: string): void {
    const b = el('span', `jp-Influx3-badge ${cls}`, text);
    b.title = title;
    row.append(b);
  }

  render(): void {
    const start = performance.now();
    // A poll that found nothing new leaves the DOM alone (no churn under the user's pointer).
    const key = JSON.stringify([
      this.search.value, this.error, this.info, this.databases, [...this.tables], [...this.triggers],
      this.tokens, this.jobs, this.plugins, [...this.expanded], this.remoteNames, this.api.connection
    ]);
    if (key === this.renderedKey) {
      return;
    }
    this.renderedKey = key;
    this.renderHeader();
    const term = this.search.value;
    const frag = document.createDocumentFragment();
    if (this.error) {
      frag.append(el('div', 'jp-Influx3-error', this.error));
    }
    for (const db of this.databases) {
      const tables = this.tables.get(db.name) ?? [];
      const triggers = this.triggers.get(db.name) ?? [];
      const tableHits = tables.filter(t => matches(term, t.name, ...t.columns.map(c => c.name)));
      if (!matches(term, db.name) && !tableHits.length) {
        continue;
      }
      const open = this.expanded.has(db.name) || (!!term.trim() && tableHits.length > 0);
      const row = this.item({ kind: 'database', db: db.name, table: '', name: db.name }, db.name, {
        expandable: true,
        open,
        icon: '▤',
        depth: 0
      });
      const retention = formatRetention(db.retentionNs);
      if (retention) {
        this.badge(row, retention, 'jp-Influx3-retention', `retention period ${retention}`);
      }
      const failing = triggers.filter(t => t.disabled).length;
      if (triggers.length) {
        this.badge(row, `▶${triggers.length}`, failing ? 'jp-Influx3-trigger-off' : 'jp-Influx3-trigger-on', `${triggers.length} trigger(s), ${failing} disabled`);
      }
      frag.append(row);
      if (!open) {
        continue;
      }
      const shown = matches(term, db.name) ? tables : tableHits;
      if (!this.tables.has(db.name)) {
        frag.append(el('div', 'jp-Influx3-empty', 'loading…'));
      } else if (!tables.length) {
        frag.append(el('div', 'jp-Influx3-empty', 'no tables'));
      }
      for (const t of shown) {
        frag.append(this.renderTable(db.name, t));
      }
      if (triggers.length) {
        for (const tr of triggers) {
          const r = this.item({ kind: 'trigger', db: db.name, table: '', name: tr.trigger_name }, tr.trigger_name, {
            icon: tr.disabled ? '‖' : '▶',
            depth: 1
          });
          r.title = `${tr.plugin_filename} on ${tr.trigger_specification}${tr.disabled ? ' (disabled)' : ''}`;
          r.classList.add(tr.disabled ? 'jp-mod-disabled' : 'jp-mod-enabled');
          frag.append(r);
        }
      }
    }
    const tokOpen = this.expanded.has('#tokens');
    frag.append(this.item({ kind: 'tokens', db: '', table: '', name: '' }, 'Tokens', { expandable: true, open: tokOpen, icon: '✱', depth: 0 }));
    if (tokOpen) {
      for (const tok of this.tokens ?? []) {
        const name = String(tok.name);
        const r = this.item({ kind: 'token', db: '', table: '', name }, name, { depth: 1 });
        r.title = `permissions ${tok.permissions ?? ''}${tok.expiry ? ', expires ' + tok.expiry : ''}`;
        frag.append(r);
      }
    }
    if (this.info?.processing_engine) {
      const open = this.expanded.has('#plugins');
      const node = this.item({ kind: 'plugins', db: '', table: '', name: '' }, 'Plugins', { expandable: true, open, icon: '⚙', depth: 0 });
      node.title = this.info.plugin_dir ?? '';
      frag.append(node);
      for (const p of open ? (this.plugins ?? []) : []) {
        frag.append(this.item({ kind: 'plugin', db: '', table: '', name: p.name }, p.name + (p.dir ? '/' : ''), { icon: 'ƒ', depth: 1 }));
      }
    }
    const adminOpen = this.expanded.has('#admin');
    frag.append(this.item({ kind: 'admin', db: '', table: '', name: '' }, 'Backups and restores', { expandable: true, open: adminOpen, icon: '◈', depth: 0 }));
    if (adminOpen) {
      const jobs = [
        ...(this.jobs?.backups ?? []).map(j => ({ what: 'backup', name: String(j.name), status: String(j.status), at: String(j.created_at ?? '') })),
        ...(this.jobs?.restores ?? []).map(j => ({ what: 'restore', name: String(j.id ?? j.restore_id ?? j.backup_name), status: String(j.status), at: String(j.created_at ?? j.started_at ?? '') }))
      ];
      if (!jobs.length) {
        frag.append(el('div', 'jp-Influx3-empty', 'no jobs'));
      }
      for (const j of jobs) {
        const r = this.item({ kind: 'job', db: '', table: '', name: j.name }, `${j.what} ${j.name}`, { depth: 1 });
        this.badge(r, j.status, `jp-Influx3-job-${j.status}`, `${j.what} ${j.status} ${j.at}`);
        frag.append(r);
      }
    }
    this.treeNode.replaceChildren(frag);
    this.lastRenderMs = performance.now() - start;
    this.node.dataset.renderMs = this.lastRenderMs.toFixed(1);
  }

  private renderTable(db: string, t: ITable): DocumentFragment {
    const frag = document.createDocumentFragment();
    const key = `${db}/${t.name}`;
    const open = this.expanded.has(key);
    const row = this.item({ kind: 'table', db, table: t.name, name: t.name }, t.name, {
      expandable: true,
      open,
      icon: '▦',
      depth: 1
    });
    if (t.lastCaches.length) {
      this.badge(row, 'LVC', 'jp-Influx3-lvc', `last-value caches: ${t.lastCaches.join(', ')}`);
    }
    if (t.distinctCaches.length) {
      this.badge(row, 'DVC', 'jp-Influx3-dvc', `distinct-value caches: ${t.distinctCaches.join(', ')}`);
    }
    frag.append(row);
    if (!open) {
      return frag;
    }
    for (const c of t.columns) {
      const r = this.item({ kind: 'column', db, table: t.name, name: c.name }, c.name, { depth: 2 });
      this.badge(r, c.kind, `jp-Influx3-kind-${c.kind}`, c.kind === 'tag' ? 'tag' : c.kind === 'time' ? 'time' : `field (${c.kind})`);
      frag.append(r);
    }
    for (const [kind, names] of [
      ['last', t.lastCaches],
      ['distinct', t.distinctCaches]
    ] as ['last' | 'distinct', string[]][]) {
      for (const n of names) {
        const r = this.item({ kind: 'cache', db, table: t.name, name: n, cacheKind: kind }, n, {
          icon: kind === 'last' ? 'L' : 'D',
          depth: 2
        });
        r.title = `${kind}-value cache`;
        frag.append(r);
      }
    }
    return frag;
  }

  /** Switches the panel (and consoles opened from now on) to a remote server, or back (null). */
  async connect(name: string | null): Promise<void> {
    this.api.connection = name;
    this.tables.clear();
    this.triggers.clear();
    this.expanded.clear();
    this.tokens = this.jobs = this.plugins = null;
    this.databases = [];
    this.info = null;
    await this.refresh();
  }

  /** Remote servers to offer in the connection selector; `onAddRemote` asks for a new one. */
  onAddRemote: () => Promise<string | null> = async () => null;

  private async onConnectionChange(select: HTMLSelectElement): Promise<void> {
    const value = select.value;
    if (value === '#add') {
      select.value = this.api.connection ?? '';
      const name = await this.onAddRemote();
      if (name) {
        await this.connect(name);
      }
      return;
    }
    if (value.startsWith('#remove:')) {
      const name = value.slice(8);
      await this.api.removeRemote(name).catch(() => undefined);
      await this.connect(null);
      return;
    }
    await this.connect(value || null);
  }

  private renderHeader(): void {
    const h = this.headerNode;
    h.replaceChildren();
    const title = el('div', 'jp-Influx3-title');
    const select = document.createElement('select');
    select.className = 'jp-Influx3-connection jp-mod-styled';
    select.title = 'connection';
    const current = this.api.connection;
    const names = this.remoteNames.includes(current ?? '') || !current ? this.remoteNames : [...this.remoteNames, current];
    select.append(Object.assign(document.createElement('option'), { value: '', textContent: 'InfluxDB 3 · this server' }));
    for (const n of names) {
      select.append(Object.assign(document.createElement('option'), { value: n, textContent: `remote · ${n}` }));
    }
    select.append(Object.assign(document.createElement('option'), { value: '#add', textContent: '+ add remote server…' }));
    if (current) {
      select.append(Object.assign(document.createElement('option'), { value: `#remove:${current}`, textContent: `− remove ${current}` }));
    }
    select.value = current ?? '';
    select.addEventListener('change', () => void this.onConnectionChange(select));
    title.append(select);
    h.append(title);
    if (this.info) {
      const i = this.info;
      const health = el('span', `jp-Influx3-health jp-mod-${i.health}`, i.health === 'pass' ? '● ok' : '● down');
      health.title = i.health === 'pass' ? 'healthy' : i.health;
      title.append(health);
      const details = el('div', 'jp-Influx3-details', i.version ? `v${i.version} · node ${i.node_id ?? '?'}` : 'remote server');
      const dir = el('div', 'jp-Influx3-details jp-Influx3-datadir', i.data_dir);
      dir.title = i.data_dir;
      h.append(details, dir);
    }
  }
}

/**
 * The JupyterLab plugin: puts the InfluxDB 3 browser in the left area and registers every action
 * it offers as a command (palette, context menus, toolbar). Each command is one API call through
 * `Api` (the server extension's `influx3/jupyter/` surface) or opens a main-area widget.
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Clipboard, ICommandPalette, IThemeManager, MainAreaWidget } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { LabIcon, SidePanel, ToolbarButton, refreshIcon, addIcon, editIcon, runIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { Api } from './api';
import { Browser, INodeRef } from './browser';
import { QueryConsole } from './console';
import { askForm, confirm, permissionGrid, showTokenOnce } from './forms';
import {
  Lang,
  Row,
  cellSource,
  checkName,
  checkRetention,
  defaultSpecification,
  formArguments,
  pluginMetadata,
  selectCache,
  selectFor,
  triggerArguments
} from './logic';
import { WritePanel } from './write';

const PLUGIN_ID = 'jupyter-influx3:plugin';

const influxIcon = new LabIcon({
  name: 'jupyter-influx3:icon',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161">' +
    '<path d="M12 2 3 7v10l9 5 9-5V7l-9-5zm0 2.3 6.8 3.8L12 11.9 5.2 8.1 12 4.3zM5 9.8l6 3.4v6.5l-6-3.3V9.8zm8 9.9v-6.5l6-3.4v6.6l-6 3.3z"/></g></svg>'
});

namespace CommandIDs {
  export const open = 'jupyter-influx3:open';
  export const refresh = 'jupyter-influx3:refresh';
  export const query = 'jupyter-influx3:new-query';
  export const insert = 'jupyter-influx3:insert-select';
  export const newCell = 'jupyter-influx3:new-cell';
  export const copy = 'jupyter-influx3:copy-name';
  export const createDb = 'jupyter-influx3:create-database';
  export const deleteDb = 'jupyter-influx3:delete-database';
  export const retention = 'jupyter-influx3:set-retention';
  export const createTable = 'jupyter-influx3:create-table';
  export const deleteTable = 'jupyter-influx3:delete-table';
  export const createCache = 'jupyter-influx3:create-cache';
  export const queryCache = 'jupyter-influx3:query-cache';
  export const deleteCache = 'jupyter-influx3:delete-cache';
  export const write = 'jupyter-influx3:write';
  export const createTrigger = 'jupyter-influx3:create-trigger';
  export const enableTrigger = 'jupyter-influx3:enable-trigger';
  export const disableTrigger = 'jupyter-influx3:disable-trigger';
  export const deleteTrigger = 'jupyter-influx3:delete-trigger';
  export const logs = 'jupyter-influx3:trigger-logs';
  export const createToken = 'jupyter-influx3:create-token';
  export const deleteToken = 'jupyter-influx3:delete-token';
  export const backup = 'jupyter-influx3:create-backup';
  export const pluginTrigger = 'jupyter-influx3:create-trigger-from-plugin';
  export const openPlugin = 'jupyter-influx3:open-plugin-file';
  export const testPlugin = 'jupyter-influx3:test-plugin';
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Browse, query, chart, write and administer the InfluxDB 3 engine of this Jupyter server.',
  autoStart: true,
  requires: [ICommandPalette],
  optional: [ILayoutRestorer, INotebookTracker, ISettingRegistry, IThemeManager],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette,
    restorer: ILayoutRestorer | null,
    notebooks: INotebookTracker | null,
    registry: ISettingRegistry | null,
    themes: IThemeManager | null
  ) => {
    const api = new Api();
    const { commands } = app;
    const settings = { pollSeconds: 15, historySize: 50, chartType: 'line' as 'line' | 'bar' };
    const consoles = new Set<QueryConsole>();

    const browser = new Browser(api, ref => {
      if (ref.kind === 'table' || ref.kind === 'database') {
        void commands.execute(CommandIDs.query);
      } else if (ref.kind === 'cache') {
        void commands.execute(CommandIDs.queryCache);
      } else if (ref.kind === 'trigger') {
        void commands.execute(CommandIDs.logs);
      } else if (ref.kind === 'plugin') {
        void commands.execute(CommandIDs.openPlugin);
      }
    });
    browser.onAddRemote = async () => {
      try {
        const v = await askForm('Add a remote InfluxDB 3 server', [
          { name: 'name', label: 'Name' },
          { name: 'url', label: 'URL', placeholder: 'https://influxdb.example.com:8181' },
          { name: 'token', label: 'Token (kept by the Jupyter server, never in the browser)' }
        ], 'Add');
        if (!v) {
          return null;
        }
        const name = checkName(v.name, 'remote name');
        await api.addRemote(name, v.url.trim(), v.token.trim());
        return name;
      } catch (err) {
        fail(err);
        return null;
      }
    };
    const panel = new SidePanel();
    panel.id = 'jupyter-influx3-browser';
    panel.title.icon = influxIcon;
    panel.title.caption = 'InfluxDB 3';
    panel.addClass('jp-Influx3-panel');
    panel.toolbar.addItem('refresh', new ToolbarButton({ icon: refreshIcon, tooltip: 'Refresh', onClick: () => void browser.refresh() }));
    panel.toolbar.addItem('newdb', new ToolbarButton({ icon: addIcon, tooltip: 'New database', onClick: () => void commands.execute(CommandIDs.createDb) }));
    panel.toolbar.addItem('query', new ToolbarButton({ icon: runIcon, tooltip: 'New query console', onClick: () => void commands.execute(CommandIDs.query) }));
    panel.toolbar.addItem('write', new ToolbarButton({ icon: editIcon, tooltip: 'Write line protocol', onClick: () => void commands.execute(CommandIDs.write) }));
    panel.addWidget(browser);
    app.shell.add(panel, 'left', { rank: 600 });
    restorer?.add(panel, 'jupyter-influx3-browser');
    void browser.refresh();
    browser.setPoll(settings.pollSeconds);

    const target = (): INodeRef => browser.target ?? { kind: 'database', db: '', table: '', name: '' };
    const fail = (err: unknown) => {
      void import('@jupyterlab/apputils').then(({ showErrorMessage }) => showErrorMessage('InfluxDB 3', String((err as Error).message ?? err)));
    };
    const attempt = (fn: () => Promise<unknown>) => async () => {
      try {
        await fn();
      } catch (err) {
        fail(err);
      }
      await browser.refresh();
    };
    const addMain = (content: Widget) => {
      const w = new MainAreaWidget({ content });
      w.title.label = content.title.label;
      w.title.icon = influxIcon;
      app.shell.add(w, 'main');
      app.shell.activateById(w.id);
      return w;
    };

    // ---- notebook cells -----------------------------------------------------------------------
    const currentNotebook = async (): Promise<NotebookPanel> => {
      const current = notebooks?.currentWidget;
      if (current) {
        return current;
      }
      const created = (await commands.execute('notebook:create-new', { kernelName: 'python3' })) as NotebookPanel;
      await created.context.ready;
      return created;
    };
    const putInCell = async (query: string, db: string, lang: Lang, fresh: boolean) => {
      const nb = await currentNotebook();
      const notebook = nb.content;
      const model = notebook.model!;
      const sources = [...Array(model.cells.length).keys()].map(i => model.cells.get(i).sharedModel.getSource());
      // An empty code cell is reused; "insert" also replaces a %%sql / %%influxql cell's query.
      const setActive = (src: string, replaceMagic: boolean) => {
        const cell = notebook.activeCell;
        const text = cell?.model.sharedModel.getSource().trim() ?? '';
        const reuse = !!cell && cell.model.type === 'code' && (!text || (replaceMagic && /^%%(sql|influxql)\b/.test(text)));
        if (!reuse) {
          NotebookActions.insertBelow(notebook);
        }
        notebook.activeCell!.model.sharedModel.setSource(src);
      };
      if (!sources.some(s => s.includes('load_ext jupyter_influx3'))) {
        setActive('%load_ext jupyter_influx3', false);
      }
      setActive(cellSource(query, db, lang), !fresh);
      app.shell.activateById(nb.id);
    };

    // ---- console ------------------------------------------------------------------------------
    const openConsole = (db: string, query: string, lang: Lang = 'sql') => {
      const c = new QueryConsole({
        api: api.pinned(),
        database: db,
        query,
        lang,
        schema: async d => {
          await browser.ensureTables(d);
          return browser.schemaOf(d);
        },
        databases: () => browser.databaseNames(),
        openAsCell: (q, d, l) => void putInCell(q, d, l, true).catch(fail),
        historySize: () => settings.historySize,
        chartType: () => settings.chartType
      });
      consoles.add(c);
      c.disposed.connect(() => consoles.delete(c));
      addMain(c);
      return c;
    };
    themes?.themeChanged.connect(() => setTimeout(() => consoles.forEach(c => c.restyle()), 100));

    // ---- commands -----------------------------------------------------------------------------
    commands.addCommand(CommandIDs.open, { label: 'InfluxDB 3 Browser', execute: () => app.shell.activateById(panel.id) });
    commands.addCommand(CommandIDs.refresh, { label: 'Refresh', icon: refreshIcon, execute: () => browser.refresh() });
    commands.addCommand(CommandIDs.query, {
      label: 'Open in Query Console',
      execute: args => {
        const t = target();
        const db = (args.db as string) ?? t.db;
        const query = (args.query as string) ?? (t.table ? selectFor(t.table) : '');
        return openConsole(db, query, (args.lang as Lang) ?? 'sql');
      }
    });
    commands.addCommand(CommandIDs.insert, {
      label: 'Insert SELECT into Notebook Cell',
      execute: () => putInCell(selectFor(target().table), target().db, 'sql', false).catch(fail)
    });
    commands.addCommand(CommandIDs.newCell, {
      label: 'New %%sql Cell with SELECT',
      execute: () => putInCell(selectFor(target().table), target().db, 'sql', true).catch(fail)
    });
    commands.addCommand(CommandIDs.copy, { label: 'Copy Name', execute: () => Clipboard.copyToSystem(target().name) });
    commands.addCommand(CommandIDs.createDb, {
      label: 'New Database…',
      execute: attempt(async () => {
        const v = await askForm('New database', [
          { name: 'db', label: 'Name' },
          { name: 'retention', label: 'Retention period (e.g. 30d; empty: none)' }
        ]);
        if (v) {
          const retention = checkRetention(v.retention);
          await api.createDatabase(checkName(v.db, 'database name'), retention === 'none' ? undefined : retention);
        }
      })
    });
    commands.addCommand(CommandIDs.deleteDb, {
      label: 'Delete Database…',
      execute: attempt(async () => {
        const db = target().db;
        if (await confirm('Delete database', `Delete database "${db}" and all its tables?`)) {
          await api.deleteDatabase(db);
        }
      })
    });
    commands.addCommand(CommandIDs.retention, {
      label: 'Set Retention Period…',
      execute: attempt(async () => {
        const v = await askForm(`Retention of ${target().db}`, [{ name: 'r', label: 'Retention period (e.g. 30d, or none)' }], 'Set');
        if (v) {
          await api.setRetention(target().db, checkRetention(v.r));
        }
      })
    });
    commands.addCommand(CommandIDs.createTable, {
      label: 'New Table…',
      execute: attempt(async () => {
        const v = await askForm(`New table in ${target().db}`, [
          { name: 'table', label: 'Name' },
          { name: 'tags', label: 'Tags (comma-separated)' },
          { name: 'fields', label: 'Fields (name:type, types utf8 int64 uint64 float64 bool)', placeholder: 'usage:float64' }
        ]);
        if (v) {
          const list = (s: string) => s.split(',').map(x => x.trim()).filter(Boolean);
          const fields = list(v.fields).map(f => {
            const [name, type] = f.split(':').map(x => x.trim());
            return { name, type: type || 'float64' };
          });
          await api.createTable(target().db, checkName(v.table, 'table name'), list(v.tags), fields);
        }
      })
    });
    commands.addCommand(CommandIDs.deleteTable, {
      label: 'Delete Table…',
      execute: attempt(async () => {
        const t = target();
        if (await confirm('Delete table', `Delete table "${t.table}" of database "${t.db}"?`)) {
          await api.deleteTable(t.db, t.table);
        }
      })
    });
    commands.addCommand(CommandIDs.createCache, {
      label: 'New Cache…',
      execute: attempt(async () => {
        const t = target();
        const v = await askForm(`New cache on ${t.db}.${t.table}`, [
          { name: 'kind', label: 'Kind', options: ['last', 'distinct'] },
          { name: 'name', label: 'Name (empty: generated)' },
          { name: 'columns', label: 'Key columns (last) or columns (distinct), comma-separated' },
          { name: 'values', label: 'Value columns (last; empty: all)' },
          { name: 'count', label: 'Count (last)', value: '1' }
        ]);
        if (!v) {
          return;
        }
        const list = (s: string) => s.split(',').map(x => x.trim()).filter(Boolean);
        const body: Record<string, unknown> = { db: t.db, table: t.table };
        if (v.name.trim()) {
          body.name = v.name.trim();
        }
        if (v.kind === 'last') {
          body.key_columns = list(v.columns);
          if (list(v.values).length) {
            body.value_columns = list(v.values);
          }
          body.count = Number(v.count) || 1;
        } else {
          body.columns = list(v.columns);
        }
        await api.createCache(v.kind as 'last' | 'distinct', body);
      })
    });
    commands.addCommand(CommandIDs.queryCache, {
      label: 'Query Cache',
      execute: () => {
        const t = target();
        return openConsole(t.db, selectCache(t.cacheKind ?? 'last', t.table, t.name));
      }
    });
    commands.addCommand(CommandIDs.deleteCache, {
      label: 'Delete Cache…',
      execute: attempt(async () => {
        const t = target();
        if (await confirm('Delete cache', `Delete the ${t.cacheKind}-value cache "${t.name}"?`)) {
          await api.deleteCache(t.cacheKind ?? 'last', t.db, t.table, t.name);
        }
      })
    });
    commands.addCommand(CommandIDs.write, {
      label: 'Write Line Protocol…',
      execute: () => addMain(new WritePanel(api, target().db, () => void browser.refresh()))
    });
    commands.addCommand(CommandIDs.createTrigger, {
      label: 'New Trigger…',
      execute: attempt(async () => {
        const v = await askForm(`New trigger in ${target().db}`, [
          { name: 'trigger_name', label: 'Name' },
          { name: 'plugin_filename', label: 'Plugin file (in the plugin directory, or gh:…)' },
          { name: 'trigger_specification', label: 'Specification', placeholder: 'all_tables, table:cpu, every:1m, cron:…, request:path' },
          { name: 'arguments', label: 'Arguments (JSON object)', value: '{}', multiline: true },
          { name: 'error_behavior', label: 'On error', options: ['log', 'retry', 'disable'] }
        ]);
        if (!v) {
          return;
        }
        const args = triggerArguments(v.arguments);
        await api.createTrigger({
          db: target().db,
          trigger_name: v.trigger_name.trim(),
          plugin_filename: v.plugin_filename.trim(),
          trigger_specification: v.trigger_specification.trim(),
          trigger_arguments: args,
          trigger_settings: { run_async: false, error_behavior: v.error_behavior[0].toUpperCase() + v.error_behavior.slice(1) },
          disabled: false
        });
      })
    });
    commands.addCommand(CommandIDs.enableTrigger, {
      label: 'Enable Trigger',
      execute: attempt(() => api.setTriggerEnabled(target().db, target().name, true))
    });
    commands.addCommand(CommandIDs.disableTrigger, {
      label: 'Disable Trigger',
      execute: attempt(() => api.setTriggerEnabled(target().db, target().name, false))
    });
    commands.addCommand(CommandIDs.deleteTrigger, {
      label: 'Delete Trigger…',
      execute: attempt(async () => {
        const t = target();
        if (await confirm('Delete trigger', `Delete trigger "${t.name}" of database "${t.db}"?`)) {
          await api.deleteTrigger(t.db, t.name);
        }
      })
    });
    commands.addCommand(CommandIDs.logs, {
      label: 'Show Trigger Logs',
      execute: async () => {
        const t = target();
        const view = new Widget();
        view.addClass('jp-Influx3-logs');
        view.title.label = `Logs ${t.name}`;
        view.title.closable = true;
        const rows = await api.logs(t.db, t.name).catch(err => [{ event_time: '', log_level: 'ERROR', log_text: String(err.message ?? err) }] as Row[]);
        const pre = document.createElement('pre');
        pre.textContent = rows.length
          ? rows.map(r => `${r.event_time ?? ''} ${r.log_level}  ${r.log_text}`).join('\n')
          : 'no log lines yet';
        view.node.append(pre);
        addMain(view);
      }
    });
    commands.addCommand(CommandIDs.createToken, {
      label: 'New Token…',
      execute: attempt(async () => {
        const grid = permissionGrid(browser.databaseNames());
        const v = await askForm(
          'New token',
          [
            { name: 'kind', label: 'Kind', options: ['resource', 'admin'] },
            { name: 'name', label: 'Name' },
            { name: 'expiry', label: 'Expires in seconds (empty: never)' }
          ],
          'Create',
          grid.node
        );
        if (!v) {
          return;
        }
        const body: Record<string, unknown> = { token_name: v.name.trim() };
        if (v.expiry.trim()) {
          const secs = Number(v.expiry);
          if (!Number.isInteger(secs) || secs <= 0) {
            throw new Error(`expiry must be a positive number of seconds, not "${v.expiry}"`);
          }
          body.expiry_secs = secs;
        }
        if (v.kind === 'resource') {
          const grants = grid.value();
          if (!grants.length) {
            throw new Error('tick at least one read or write permission');
          }
          body.permissions = grants.map(g => ({ resource_type: 'db', resource_identifier: [g.db], actions: g.actions }));
        }
        const answer = await api.createToken(v.kind as 'admin' | 'resource', body);
        await showTokenOnce(String(answer.token));
      })
    });
    commands.addCommand(CommandIDs.deleteToken, {
      label: 'Delete Token…',
      execute: attempt(async () => {
        const name = target().name;
        if (await confirm('Delete token', `Delete token "${name}"? Clients using it stop working.`)) {
          await api.deleteToken(name);
        }
      })
    });

    commands.addCommand(CommandIDs.backup, {
      label: 'New Backup…',
      execute: attempt(async () => {
        const v = await askForm('New backup', [{ name: 'name', label: 'Name (empty: generated)' }]);
        if (v) {
          await api.createBackup(v.name.trim());
        }
      })
    });

    commands.addCommand(CommandIDs.pluginTrigger, {
      label: 'New Trigger from This Plugin…',
      execute: attempt(async () => {
        const plugin = target().name;
        const meta = pluginMetadata(await api.pluginSource(plugin)) ?? { types: [], args: [] };
        const dbs = browser.databaseNames().filter(d => d !== '_internal');
        const v = await askForm(`New trigger running ${plugin}`, [
          { name: 'db', label: 'Database', options: dbs.length ? dbs : [''] },
          { name: 'trigger_name', label: 'Trigger name', value: plugin.replace(/\.py$/, '') },
          { name: 'trigger_specification', label: `Specification (plugin types: ${meta.types.join(', ') || 'not declared'})`, value: defaultSpecification(meta.types, plugin) },
          ...meta.args.map(a => ({
            name: `arg:${a.name}`,
            label: `${a.name}${a.required ? ' *' : ''}${a.description ? ' — ' + a.description : ''}`,
            placeholder: a.example
          })),
          { name: 'extra', label: 'More arguments (JSON object)', value: '', multiline: true },
          { name: 'error_behavior', label: 'On error', options: ['log', 'retry', 'disable'] }
        ]);
        if (!v) {
          return;
        }
        await api.createTrigger({
          db: checkName(v.db, 'database name'),
          trigger_name: v.trigger_name.trim(),
          plugin_filename: plugin,
          trigger_specification: v.trigger_specification.trim(),
          trigger_arguments: formArguments(v, meta.args, v.extra),
          trigger_settings: { run_async: false, error_behavior: v.error_behavior[0].toUpperCase() + v.error_behavior.slice(1) },
          disabled: false
        });
      })
    });
    commands.addCommand(CommandIDs.testPlugin, {
      label: 'Test Plugin on Lines (dry run)…',
      execute: attempt(async () => {
        const plugin = target().name;
        const dbs = browser.databaseNames().filter(d => d !== '_internal');
        const v = await askForm(`Dry run of ${plugin}`, [
          { name: 'db', label: 'Database', options: dbs.length ? dbs : [''] },
          { name: 'lp', label: 'Line protocol the plugin receives', multiline: true, placeholder: 'cpu,host=a usage=99 1700000000000000000' },
          { name: 'args', label: 'Arguments (JSON object)', multiline: true }
        ], 'Run');
        if (!v) {
          return;
        }
        const result = await api.testPlugin(plugin, checkName(v.db, 'database name'), v.lp, triggerArguments(v.args));
        const view = new Widget();
        view.addClass('jp-Influx3-logs');
        view.addClass('jp-Influx3-testrun');
        view.title.label = `Dry run ${plugin}`;
        view.title.closable = true;
        const pre = document.createElement('pre');
        pre.textContent = JSON.stringify(result, null, 2);
        view.node.append(pre);
        addMain(view);
      })
    });
    commands.addCommand(CommandIDs.openPlugin, {
      label: 'Open Plugin File',
      execute: async () => {
        const t = target();
        const name = t.kind === 'trigger' ? '' : t.name;
        const rel = browser.serverInfo?.plugin_dir_in_root;
        if (name && rel !== null && rel !== undefined) {
          const path = [rel, name].filter(Boolean).join('/');
          return commands.execute('docmanager:open', { path: name.endsWith('.py') ? path : `${path}/__init__.py` });
        }
        // outside Jupyter's root: a read-only view of the source
        const view = new Widget();
        view.addClass('jp-Influx3-logs');
        view.title.label = name;
        view.title.closable = true;
        const pre = document.createElement('pre');
        pre.textContent = await api.pluginSource(name).catch(err => String(err.message ?? err));
        view.node.append(pre);
        addMain(view);
      }
    });

    // ---- menus --------------------------------------------------------------------------------
    const menu = (selector: string, ids: string[], rank = 0) =>
      ids.forEach((command, i) => app.contextMenu.addItem({ command, selector, rank: rank + i }));
    menu('.jp-Influx3-database', [CommandIDs.query, CommandIDs.write, CommandIDs.createTable, CommandIDs.createTrigger, CommandIDs.retention, CommandIDs.copy, CommandIDs.deleteDb]);
    menu('.jp-Influx3-table', [CommandIDs.insert, CommandIDs.newCell, CommandIDs.query, CommandIDs.createCache, CommandIDs.copy, CommandIDs.deleteTable]);
    menu('.jp-Influx3-column', [CommandIDs.copy]);
    menu('.jp-Influx3-cache', [CommandIDs.queryCache, CommandIDs.copy, CommandIDs.deleteCache]);
    menu('.jp-Influx3-trigger', [CommandIDs.logs, CommandIDs.enableTrigger, CommandIDs.disableTrigger, CommandIDs.copy, CommandIDs.deleteTrigger]);
    menu('.jp-Influx3-tokens', [CommandIDs.createToken]);
    menu('.jp-Influx3-token', [CommandIDs.copy, CommandIDs.deleteToken]);
    menu('.jp-Influx3-admin', [CommandIDs.backup, CommandIDs.refresh]);
    menu('.jp-Influx3-plugin', [CommandIDs.pluginTrigger, CommandIDs.testPlugin, CommandIDs.openPlugin, CommandIDs.copy]);
    menu('.jp-Influx3-job', [CommandIDs.copy, CommandIDs.refresh]);
    for (const command of [CommandIDs.open, CommandIDs.refresh, CommandIDs.query, CommandIDs.write, CommandIDs.createDb, CommandIDs.createToken]) {
      palette.addItem({ command, category: 'InfluxDB 3' });
    }

    // ---- settings -----------------------------------------------------------------------------
    if (registry) {
      void registry
        .load(PLUGIN_ID)
        .then(s => {
          const apply = () => {
            settings.pollSeconds = s.get('pollSeconds').composite as number;
            settings.historySize = s.get('historySize').composite as number;
            settings.chartType = s.get('chartType').composite as 'line' | 'bar';
            browser.setPoll(settings.pollSeconds);
          };
          apply();
          s.changed.connect(apply);
        })
        .catch(err => console.warn('jupyter-influx3: settings not loaded', err));
    }
    // For the browser tests and for debugging from the devtools console.
    (window as any).jupyterInflux3 = { browser, openConsole, api };
  }
};

export default plugin;

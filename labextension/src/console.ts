/**
 * The query console (main area): a SQL/InfluxQL editor (CodeMirror with @codemirror/lang-sql and
 * completion of the panel's table and column names), a time-range picker for the `$__timeFilter`
 * macro, Shift+Enter to run, the rows in a virtualised Lumino DataGrid, a uPlot chart (a series per
 * field and tag set), CSV/Parquet export, "open as notebook cell" and a history kept across
 * reloads (in the browser's localStorage). Rows come from `Api.query`; nothing else is fetched.
 */
import { autocompletion } from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { sql, PostgreSQL } from '@codemirror/lang-sql';
import { syntaxHighlighting, defaultHighlightStyle } from '@codemirror/language';
import { Compartment, EditorState, Prec } from '@codemirror/state';
import { EditorView, keymap, lineNumbers } from '@codemirror/view';
import { DataGrid, JSONModel, TextRenderer } from '@lumino/datagrid';
import { BoxPanel, SplitPanel, Widget } from '@lumino/widgets';
import uPlot from 'uplot';

import { Api } from './api';
import {
  IHistoryEntry,
  Lang,
  Row,
  TIME_RANGES,
  applyTimeRange,
  columnsOf,
  pushHistory,
  toChart
} from './logic';

const HISTORY_KEY = 'jupyter-influx3:history';

export interface IConsoleOptions {
  api: Api;
  database: string;
  query: string;
  lang?: Lang;
  schema: (db: string) => Promise<{ [table: string]: string[] }>;
  databases: () => string[];
  openAsCell: (query: string, db: string, lang: Lang) => void;
  historySize: () => number;
  chartType: () => 'line' | 'bar';
}

function css(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

/** A widget that tells its owner when it is resized (the chart is redrawn at the new size). */
class ResizeWidget extends Widget {
  onResized: () => void = () => undefined;
  protected onResize(): void {
    this.onResized();
  }
}

export class QueryConsole extends SplitPanel {
  readonly editor: EditorView;
  rows: Row[] = [];
  /** ms from Run to rows in the grid and chart drawn (the browser test reads it). */
  lastRunMs = 0;

  private dbInput: HTMLInputElement;
  private langSelect: HTMLSelectElement;
  private rangeSelect: HTMLSelectElement;
  private chartSelect: HTMLSelectElement;
  private historySelect: HTMLSelectElement;
  private status: HTMLElement;
  private grid: DataGrid;
  private chartNode: HTMLElement;
  private plot: uPlot | null = null;
  private language = new Compartment();
  private results: BoxPanel;
  private hostNode: HTMLElement;

  constructor(private opts: IConsoleOptions) {
    super({ orientation: 'vertical', spacing: 4 });
    this.addClass('jp-Influx3-console');
    this.title.label = `Query ${opts.database}`;
    this.title.closable = true;

    const bar = document.createElement('div');
    bar.className = 'jp-Influx3-toolbar';
    this.dbInput = document.createElement('input');
    this.dbInput.className = 'jp-Influx3-db jp-mod-styled';
    this.dbInput.value = opts.database;
    this.dbInput.title = 'database';
    const list = document.createElement('datalist');
    list.id = `jp-Influx3-dbs-${this.id || Math.random().toString(36).slice(2)}`;
    this.dbInput.setAttribute('list', list.id);
    this.dbInput.addEventListener('focus', () => {
      list.replaceChildren(...opts.databases().map(d => Object.assign(document.createElement('option'), { value: d })));
    });
    this.dbInput.addEventListener('change', () => void this.updateCompletion());
    this.langSelect = this.select('jp-Influx3-lang', [
      ['sql', 'SQL'],
      ['influxql', 'InfluxQL']
    ]);
    this.langSelect.value = opts.lang ?? 'sql';
    this.langSelect.addEventListener('change', () => void this.updateCompletion());
    this.rangeSelect = this.select(
      'jp-Influx3-range',
      Object.keys(TIME_RANGES).map(k => [k, k === 'all' ? 'all time' : `last ${k}`])
    );
    this.rangeSelect.title = 'time range of $__timeFilter';
    this.rangeSelect.value = '1h';
    this.chartSelect = this.select('jp-Influx3-charttype', [
      ['line', 'line'],
      ['bar', 'bar']
    ]);
    this.chartSelect.value = opts.chartType();
    this.chartSelect.addEventListener('change', () => this.drawChart());
    this.historySelect = this.select('jp-Influx3-history', []);
    this.historySelect.title = 'query history';
    this.historySelect.addEventListener('change', () => this.pickHistory());
    bar.append(
      this.dbInput,
      list,
      this.langSelect,
      this.rangeSelect,
      this.button('Run ▶', 'jp-Influx3-run', () => void this.run(), 'Run (Shift+Enter)'),
      this.chartSelect,
      this.button('CSV', 'jp-Influx3-csv', () => void this.export('csv'), 'export the result as CSV'),
      this.button('Parquet', 'jp-Influx3-parquet', () => void this.export('parquet'), 'export the result as Parquet'),
      this.button('→ cell', 'jp-Influx3-tocell', () => this.toCell(), 'open as a notebook cell'),
      this.historySelect
    );

    const editorHost = document.createElement('div');
    editorHost.className = 'jp-Influx3-editor';
    this.editor = new EditorView({
      parent: editorHost,
      state: EditorState.create({
        doc: opts.query,
        extensions: [
          lineNumbers(),
          history(),
          Prec.highest(keymap.of([{ key: 'Shift-Enter', run: () => (void this.run(), true) }])),
          keymap.of([...defaultKeymap, ...historyKeymap]),
          syntaxHighlighting(defaultHighlightStyle),
          this.language.of(sql()),
          autocompletion(),
          EditorView.theme({
            '&': { backgroundColor: 'var(--jp-layout-color0)', color: 'var(--jp-content-font-color1)' },
            '.cm-gutters': { backgroundColor: 'var(--jp-layout-color2)', color: 'var(--jp-ui-font-color2)' },
            '.cm-content': { caretColor: 'var(--jp-editor-cursor-color)' }
          })
        ]
      })
    });
    this.status = document.createElement('div');
    this.status.className = 'jp-Influx3-status';

    this.hostNode = document.createElement('div');
    this.hostNode.className = 'jp-Influx3-top';
    this.hostNode.append(bar, editorHost, this.status);

    this.grid = new DataGrid({ defaultSizes: { rowHeight: 22, columnWidth: 170, rowHeaderWidth: 64, columnHeaderHeight: 24 } });
    this.grid.addClass('jp-Influx3-grid');
    this.grid.style = this.gridStyle();
    this.styleText();
    const chart = new ResizeWidget();
    chart.addClass('jp-Influx3-chart');
    chart.onResized = () => this.drawChart();
    this.chartNode = chart.node;
    this.results = new BoxPanel({ direction: 'left-to-right', spacing: 4 });
    this.results.addWidget(this.grid);
    this.results.addWidget(chart);
    this.addWidget(new Widget({ node: this.hostNode }));
    this.addWidget(this.results);
    this.setRelativeSizes([0.3, 0.7]);
    this.refreshHistory();
    void this.updateCompletion();
  }

  get database(): string {
    return this.dbInput.value.trim();
  }

  get lang(): Lang {
    return this.langSelect.value as Lang;
  }

  get query(): string {
    return this.editor.state.doc.toString();
  }

  dispose(): void {
    this.plot?.destroy();
    this.editor.destroy();
    super.dispose();
  }

  /** Restyles the grid and chart after a theme change (they draw on canvas, not with CSS). */
  restyle(): void {
    this.grid.style = this.gridStyle();
    this.styleText();
    this.drawChart();
  }

  /** Cell text in the theme's font colour (the grid paints on a canvas, so CSS cannot reach it). */
  private styleText(): void {
    const textColor = css('--jp-ui-font-color1', '#000');
    const font = `12px ${css('--jp-ui-font-family', 'sans-serif')}`;
    this.grid.cellRenderers.update({
      body: new TextRenderer({ textColor, font }),
      'column-header': new TextRenderer({ textColor, font: `bold ${font}` }),
      'row-header': new TextRenderer({ textColor: css('--jp-ui-font-color2', '#666'), font }),
      'corner-header': new TextRenderer({ textColor, font })
    });
  }

  async run(): Promise<void> {
    const db = this.database;
    const q = this.query.trim();
    if (!db || !q) {
      this.setStatus('a database and a query are needed', true);
      return;
    }
    const start = performance.now();
    this.setStatus('running…');
    let rows: Row[];
    try {
      rows = await this.opts.api.query(db, applyTimeRange(q, this.rangeSelect.value, this.lang), this.lang);
    } catch (err) {
      this.setStatus(String((err as Error).message ?? err), true);
      return;
    }
    this.saveHistory({ query: q, lang: this.lang, database: db, at: Date.now() });
    this.showRows(rows);
    this.lastRunMs = performance.now() - start;
    this.node.dataset.runMs = this.lastRunMs.toFixed(0);
    this.setStatus(`${rows.length} row${rows.length === 1 ? '' : 's'} in ${this.lastRunMs.toFixed(0)} ms`);
  }

  private showRows(rows: Row[]): void {
    this.rows = rows;
    const cols = columnsOf(rows);
    this.grid.dataModel = new JSONModel({
      data: rows as any,
      schema: { fields: cols.map(name => ({ name })), primaryKey: ['index'] }
    });
    this.node.dataset.rowCount = String(rows.length);
    this.drawChart();
  }

  private drawChart(): void {
    this.plot?.destroy();
    this.plot = null;
    this.chartNode.replaceChildren();
    const data = toChart(this.rows);
    this.chartNode.dataset.seriesCount = String(data.series.length);
    if (!data.series.length) {
      this.chartNode.append(Object.assign(document.createElement('div'), {
        className: 'jp-Influx3-empty',
        textContent: this.rows.length ? 'no time column with numbers to chart' : ''
      }));
      return;
    }
    const width = Math.max(200, this.chartNode.clientWidth - 8);
    const height = Math.max(150, this.chartNode.clientHeight - 60);
    const bars = this.chartSelect.value === 'bar';
    const fg = css('--jp-ui-font-color1', '#000');
    const grid = css('--jp-border-color2', '#ddd');
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } };
    const opts: uPlot.Options = {
      width,
      height,
      axes: [axis, axis],
      legend: { show: data.series.length <= 20 },
      series: [
        {},
        ...data.series.map((s, i) => ({
          label: s.label,
          stroke: PALETTE[i % PALETTE.length],
          fill: bars ? PALETTE[i % PALETTE.length] + '88' : undefined,
          spanGaps: true,
          points: { show: false },
          paths: bars ? uPlot.paths.bars!({ size: [0.6, 50] }) : undefined
        }))
      ]
    };
    this.plot = new uPlot(opts, [data.xs, ...data.series.map(s => s.values)] as uPlot.AlignedData, this.chartNode);
  }

  private gridStyle(): DataGrid.Style {
    return {
      ...DataGrid.defaultStyle,
      voidColor: css('--jp-layout-color0', '#fff'),
      backgroundColor: css('--jp-layout-color0', '#fff'),
      headerBackgroundColor: css('--jp-layout-color2', '#eee'),
      gridLineColor: css('--jp-border-color3', '#eee'),
      headerGridLineColor: css('--jp-border-color2', '#ddd')
    };
  }

  private setStatus(text: string, error = false): void {
    this.status.textContent = text;
    this.status.classList.toggle('jp-mod-error', error);
  }

  private async export(format: 'csv' | 'parquet'): Promise<void> {
    try {
      const q = applyTimeRange(this.query.trim(), this.rangeSelect.value, this.lang);
      const blob = await this.opts.api.download(this.database, q, this.lang, format);
      const a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = `${this.database}-query.${format}`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    } catch (err) {
      this.setStatus(String((err as Error).message ?? err), true);
    }
  }

  private toCell(): void {
    const q = applyTimeRange(this.query.trim(), this.rangeSelect.value, this.lang);
    this.opts.openAsCell(q, this.database, this.lang);
  }

  private async updateCompletion(): Promise<void> {
    let schema: { [table: string]: string[] } = {};
    try {
      schema = this.database ? await this.opts.schema(this.database) : {};
    } catch {
      // completion without names is still an editor
    }
    this.editor.dispatch({
      effects: this.language.reconfigure(this.lang === 'sql' ? sql({ dialect: PostgreSQL, schema, upperCaseKeywords: true }) : sql({ schema }))
    });
  }

  private history(): IHistoryEntry[] {
    try {
      return JSON.parse(localStorage.getItem(HISTORY_KEY) ?? '[]');
    } catch {
      return [];
    }
  }

  private saveHistory(entry: IHistoryEntry): void {
    localStorage.setItem(HISTORY_KEY, JSON.stringify(pushHistory(this.history(), entry, this.opts.historySize())));
    this.refreshHistory();
  }

  private refreshHistory(): void {
    const h = this.history();
    const head = Object.assign(document.createElement('option'), { value: '', textContent: `history (${h.length})` });
    this.historySelect.replaceChildren(
      head,
      ...h.map((e, i) =>
        Object.assign(document.createElement('option'), {
          value: String(i),
          textContent: `[${e.database}] ${e.query.replace(/\s+/g, ' ').slice(0, 80)}`
        })
      )
    );
  }

  private pickHistory(): void {
    const e = this.history()[Number(this.historySelect.value)];
    this.historySelect.value = '';
    if (!e) {
      return;
    }
    this.dbInput.value = e.database;
    this.langSelect.value = e.lang;
    this.editor.dispatch({ changes: { from: 0, to: this.editor.state.doc.length, insert: e.query } });
    void this.updateCompletion();
  }

  private select(cls: string, options: string[][]): HTMLSelectElement {
    const s = document.createElement('select');
    s.className = `${cls} jp-mod-styled`;
    for (const [value, label] of options) {
      s.append(Object.assign(document.createElement('option'), { value, textContent: label }));
    }
    return s;
  }

  private button(label: string, cls: string, onClick: () => void, title: string): HTMLButtonElement {
    const b = document.createElement('button');
    b.className = `${cls} jp-mod-styled jp-Influx3-button`;
    b.textContent = label;
    b.title = title;
    b.addEventListener('click', onClick);
    return b;
  }
}

/**
 * The write dialog (main area): line protocol typed or pasted, a database and a precision; shows
 * how many lines were written and each rejected line with the API's error, as `/api/v3/write_lp`
 * reports it (accept_partial: the good lines are written).
 */
import { Widget } from '@lumino/widgets';

import { Api } from './api';
import { countLines } from './logic';

export class WritePanel extends Widget {
  private dbInput: HTMLInputElement;
  private precision: HTMLSelectElement;
  private text: HTMLTextAreaElement;
  private result: HTMLElement;

  constructor(
    private api: Api,
    database: string,
    private onWritten: () => void
  ) {
    super();
    this.addClass('jp-Influx3-write');
    this.title.label = 'Write line protocol';
    this.title.closable = true;
    const bar = document.createElement('div');
    bar.className = 'jp-Influx3-toolbar';
    this.dbInput = Object.assign(document.createElement('input'), {
      className: 'jp-Influx3-db jp-mod-styled',
      value: database,
      placeholder: 'database'
    });
    this.precision = document.createElement('select');
    this.precision.className = 'jp-Influx3-precision jp-mod-styled';
    for (const p of ['auto', 'ns', 'us', 'ms', 's']) {
      this.precision.append(Object.assign(document.createElement('option'), { value: p, textContent: `precision ${p}` }));
    }
    const button = Object.assign(document.createElement('button'), {
      className: 'jp-Influx3-dowrite jp-mod-styled jp-mod-accept jp-Influx3-button',
      textContent: 'Write'
    });
    button.addEventListener('click', () => void this.write());
    bar.append(this.dbInput, this.precision, button);
    this.text = Object.assign(document.createElement('textarea'), {
      className: 'jp-Influx3-lp',
      placeholder: 'cpu,host=a usage=0.5 1700000000000000000',
      spellcheck: false
    });
    this.result = document.createElement('div');
    this.result.className = 'jp-Influx3-writeresult';
    this.node.append(bar, this.text, this.result);
  }

  async write(): Promise<void> {
    const db = this.dbInput.value.trim();
    const lp = this.text.value;
    const total = countLines(lp);
    if (!db || !total) {
      this.showResult('a database and at least one line are needed', true);
      return;
    }
    try {
      const r = await this.api.write(db, lp, this.precision.value);
      const written = total - r.errors.length;
      this.showResult(`${written} of ${total} line${total === 1 ? '' : 's'} written to ${db}`, !r.ok);
      for (const e of r.errors) {
        const row = document.createElement('div');
        row.className = 'jp-Influx3-lineerror';
        row.textContent = `line ${e.line_number}: ${e.error_message} — ${e.original_line}`;
        this.result.append(row);
      }
      if (!r.errors.length && !r.ok) {
        this.result.append(Object.assign(document.createElement('div'), { className: 'jp-Influx3-lineerror', textContent: r.message }));
      }
      this.onWritten();
    } catch (err) {
      this.showResult(String((err as Error).message ?? err), true);
    }
  }

  private showResult(text: string, error: boolean): void {
    this.result.replaceChildren(Object.assign(document.createElement('div'), { className: 'jp-Influx3-writesummary', textContent: text }));
    this.result.classList.toggle('jp-mod-error', error);
  }
}

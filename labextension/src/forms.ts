/**
 * Small forms shown in JupyterLab dialogs (create database/table/cache/trigger/token, set
 * retention) and the "token shown once" dialog. A form only collects and checks values; the
 * command that opened it makes the API call.
 */
import { Clipboard, Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

export interface IField {
  name: string;
  label: string;
  value?: string;
  placeholder?: string;
  options?: string[];
  multiline?: boolean;
}

class FormBody extends Widget implements Dialog.IBodyWidget<Record<string, string>> {
  private inputs = new Map<string, HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>();

  constructor(fields: IField[], extra?: HTMLElement) {
    super();
    this.addClass('jp-Influx3-form');
    for (const f of fields) {
      const label = document.createElement('label');
      label.textContent = f.label;
      let input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
      if (f.options) {
        input = document.createElement('select');
        for (const o of f.options) {
          input.append(Object.assign(document.createElement('option'), { value: o, textContent: o }));
        }
      } else if (f.multiline) {
        input = document.createElement('textarea');
      } else {
        input = document.createElement('input');
      }
      input.className = 'jp-mod-styled';
      input.name = f.name;
      input.value = f.value ?? (f.options ? f.options[0] : '');
      if ('placeholder' in input && f.placeholder) {
        input.placeholder = f.placeholder;
      }
      label.append(input);
      this.node.append(label);
      this.inputs.set(f.name, input);
    }
    if (extra) {
      this.node.append(extra);
    }
  }

  getValue(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, i] of this.inputs) {
      out[k] = i.value;
    }
    return out;
  }
}

/** Shows a form; the values, or null when cancelled. */
export async function askForm(title: string, fields: IField[], accept = 'Create', extra?: HTMLElement): Promise<Record<string, string> | null> {
  const result = await showDialog({
    title,
    body: new FormBody(fields, extra),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: accept })]
  });
  return result.button.accept ? result.value : null;
}

/** Asks to confirm a destructive action. */
export async function confirm(title: string, text: string, accept = 'Delete'): Promise<boolean> {
  const result = await showDialog({
    title,
    body: text,
    buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: accept })]
  });
  return result.button.accept;
}

/** A database × read/write grid of checkboxes (the resource token's permissions). */
export function permissionGrid(databases: string[]): { node: HTMLElement; value: () => { db: string; actions: string[] }[] } {
  const table = document.createElement('table');
  table.className = 'jp-Influx3-permgrid';
  table.innerHTML = '<thead><tr><th>database</th><th>read</th><th>write</th></tr></thead>';
  const body = document.createElement('tbody');
  for (const db of ['*', ...databases]) {
    const tr = document.createElement('tr');
    const name = document.createElement('td');
    name.textContent = db === '*' ? 'all databases' : db;
    tr.append(name);
    for (const action of ['read', 'write']) {
      const td = document.createElement('td');
      const box = Object.assign(document.createElement('input'), { type: 'checkbox' });
      box.dataset.db = db;
      box.dataset.action = action;
      td.append(box);
      tr.append(td);
    }
    body.append(tr);
  }
  table.append(body);
  const value = () => {
    const grants = new Map<string, string[]>();
    table.querySelectorAll('input:checked').forEach(b => {
      const d = (b as HTMLInputElement).dataset;
      grants.set(d.db!, [...(grants.get(d.db!) ?? []), d.action!]);
    });
    return [...grants].map(([db, actions]) => ({ db, actions }));
  };
  return { node: table, value };
}

/** Shows a new token once, with a copy button; it is not kept anywhere in the browser. */
export async function showTokenOnce(token: string): Promise<void> {
  const body = new Widget();
  body.addClass('jp-Influx3-tokenonce');
  const text = document.createElement('code');
  text.className = 'jp-Influx3-tokenvalue';
  text.textContent = token;
  const copy = Object.assign(document.createElement('button'), {
    className: 'jp-mod-styled jp-Influx3-button jp-Influx3-copy',
    textContent: 'Copy'
  });
  copy.addEventListener('click', () => Clipboard.copyToSystem(token));
  const note = document.createElement('p');
  note.textContent = 'This token is shown only once. Copy it now.';
  body.node.append(note, text, copy);
  await showDialog({ title: 'New token', body, buttons: [Dialog.okButton({ label: 'Done' })] });
}

// pages/rca.js - #/rca[?topology=ID]: root-cause analysis. The topologies
// (upload a JSON or CSV file, which the server checks: its refusal shows on
// the upload with the line it names; the list with each one's counts and
// kinds; delete with Undo; the trash), the form that starts an analysis (a
// model, a topology, an incident dataset - only datasets the server read as
// incident files are offered - the number of ranks, the normal class from
// the model's classes, and the advanced clock skew and hop delay; a
// refusal marks the field the server names) and the list of analyses with
// their trash. A started analysis is a job: its page follows it and opens
// the analysis when it is done.

import { h, clear } from '../dom.js';
import { icon } from '../icons.js';
import { t } from '../i18n.js';
import { fmtInt, fmtAgo, fmtBytes } from '../format.js';
import { dropZone } from '../dropzone.js';
import { pageHeader, card, field, select, errorAlert, emptyState, linkButton, button, badge, progressBar, toast, showError, setInvalid } from '../ui.js';
import { className } from '../classnames.js';
import { undoToast, trashCard } from '../views/trash.js';
import { chart, emptyOption, isDark } from '../charts.js';
import { NEIGHBOURHOOD_ABOVE, prepareView, graphOption, graphTable, kindLook } from '../views/rca-graph.js';
import { topologyIndex } from '../views/rca-layout.js';

// The form's ranges, as the server checks them (docs/api.md, rca jobs):
// the server's refusal is the rule; these only spare a round trip. (The
// service lists no rca parameters the way GET /algorithms lists a
// learner's, so they are repeated here.)
const TOP = { min: 1, max: 100, value: 5 };
const SKEW = { min: 0, max: 86400 }; // the server refuses others (HL_RCA_SKEW_MAX)
const HOP = { min: 1e-3, max: 86400 }; // HL_RCA_HOP_DELAY_MIN..MAX

/* The model's class the analysis takes as normal by default: "normal"
 * when the model has it, else none (the user chooses: a guess would
 * silently turn a fault class into the healthy one). */
export function defaultNormal(labels) {
  return (labels || []).map(String).includes('normal') ? 'normal' : '';
}

function kindsBadges(kinds) {
  const entries = Object.entries(kinds || {}).sort((a, b) => b[1] - a[1]);
  if (!entries.length) return h('span.small.text-body-secondary', t('rca.topo.noKinds'));
  return entries.map(([k, n]) => badge(`${k} · ${fmtInt(n)}`, 'secondary', { 'data-kind': k }));
}

/* ---- topologies ------------------------------------------------------------------ */

function topologyRow(tp, chosen, onDelete) {
  return h(`li.list-group-item${chosen ? '.active-row' : ''}`, { testid: 'topology-row', dataset: { id: tp.id }, 'aria-current': chosen ? 'true' : null },
    h('div.d-flex.align-items-start.gap-2',
      h('div.flex-grow-1.min-w-0',
        h('a.fw-semibold.text-break.d-block', { href: `#/rca?topology=${tp.id}`, testid: 'topology-open' }, tp.name),
        h('div.small.text-body-secondary',
          h('span', { testid: 'topology-nodes', dataset: { value: tp.nodes } }, t('rca.topo.nodes', { count: tp.nodes, n: fmtInt(tp.nodes) })), ' · ',
          h('span', { testid: 'topology-edges', dataset: { value: tp.edges } }, t('rca.topo.edges', { count: tp.edges, n: fmtInt(tp.edges) })),
          tp.bidirectional_edges ? ` (${t('rca.topo.bidirectional', { n: fmtInt(tp.bidirectional_edges) })})` : '',
          ' · ', tp.format.toUpperCase(), ' · ', fmtAgo(tp.created_at)),
        h('div.d-flex.flex-wrap.gap-1.mt-1', { testid: 'topology-kinds' }, kindsBadges(tp.kinds))),
      h('button.btn.btn-sm.btn-icon.btn-ghost-danger', {
        type: 'button', testid: 'topology-delete', 'aria-label': t('rca.topo.deleteNamed', { name: tp.name }), title: t('common.delete'),
        on: { click: (ev) => onDelete(tp, ev.currentTarget) },
      }, icon('trash'))));
}

function topologyCard(ctx, items, chosenId, onDelete) {
  const name = h('input.form-control.form-control-sm', { type: 'text', id: 'topology-name', name: 'topology-name', testid: 'topology-name', maxlength: '255', autocomplete: 'off', placeholder: t('rca.topo.namePlaceholder') });
  const status = h('div');
  const zone = dropZone({
    title: t('rca.topo.dropTitle'), hint: t('rca.topo.dropHint'), accept: '.json,.csv,application/json,text/csv',
    zoneTestid: 'topology-drop', inputTestid: 'topology-input', inputLabel: t('rca.topo.choose'),
    onFile: (file) => { upload(file); zone.reset(); },
  });
  const upload = (file) => {
    const bar = progressBar({ testid: 'topology-progress', label: t('rca.topo.uploading', { name: file.name }) });
    const up = ctx.api.topologies.upload(file, name.value.trim(), { label: t('rca.topo.uploading', { name: file.name }), onProgress: (p) => bar.set(p) });
    zone.el.classList.remove('is-invalid');
    clear(status, h('div.small.mb-1', file.name, ' · ', fmtBytes(file.size)), bar.el);
    up.promise.then((tp) => {
      toast(t('rca.topo.uploaded', { name: tp.name, nodes: fmtInt(tp.nodes), edges: fmtInt(tp.edges) }));
      ctx.navigate(`#/rca?topology=${tp.id}`);
    }, (e) => {
      if (e.kind === 'abort') { clear(status); return; }
      zone.el.classList.add('is-invalid');
      zone.input.setAttribute('aria-invalid', 'true');
      clear(status, errorAlert(e, { testid: 'topology-upload-error' }));
    });
  };
  const list = items.length
    ? h('ul.list-group.list-group-flush', { 'aria-label': t('rca.topo.list') }, items.map((tp) => topologyRow(tp, tp.id === chosenId, onDelete)))
    : h('div.p-3', emptyState('network', t('rca.topo.none'), t('rca.topo.noneText')));
  return card(t('rca.topo.title'), [
    h('div.p-3', zone.el,
      h('div.mt-2', h('label.form-label.small', { for: 'topology-name' }, t('rca.topo.name')), name),
      h('div.form-text', t('rca.topo.formats')),
      h('div.mt-2', { testid: 'topology-upload-status' }, status)),
    list,
  ], { testid: 'topology-card', bodyCls: 'p-0', actions: badge(String(items.length), 'secondary') });
}

/* The chosen topology drawn whole (force layout up to NEIGHBOURHOOD_ABOVE
 * nodes, layered above), nodes coloured by kind; null when it cannot be
 * read (gone meanwhile). */
async function previewCard(ctx, id) {
  let tp;
  try {
    tp = await ctx.api.topologies.get(id, { signal: ctx.signal, quiet: true, retry: false });
  } catch { return null; }
  const topo = topologyIndex(tp.graph);
  const view = prepareView({
    topo, shown: new Set(topo.nodes.map((n) => n.id)), incident: null, rank: null, selectedNode: null,
    layout: topo.nodes.length <= NEIGHBOURHOOD_ABOVE ? 'force' : 'layered', labels: [], owner: null,
  });
  const el = h('div.chart', { testid: 'topology-preview-graph', role: 'img', 'aria-label': t('rca.topo.previewOf', { name: tp.name }) });
  chart(el, (c) => (topo.nodes.length ? graphOption(c, view) : emptyOption(c, t('common.noData'))), { table: () => graphTable(view, null) });
  return card(t('rca.topo.preview', { name: tp.name }), [
    el,
    view.kinds.length > 0 && h('ul.rca-legend.list-unstyled.d-flex.flex-wrap.gap-3.small.mb-0.mt-2',
      view.kinds.map((k) => {
        const look = kindLook(view.kinds, k, isDark());
        return h('li', { dataset: { kind: k } }, h('span.legend-swatch.kind-swatch', { 'aria-hidden': 'true', style: { background: look.color, 'clip-path': look.clip } }), `${k} · ${fmtInt(tp.kinds?.[k])}`);
      })),
  ], { testid: 'topology-preview', cls: 'topology-preview' });
}

/* ---- the form ------------------------------------------------------------------------ */

function analysisForm(ctx, { models, topologies, incidentSets, chosenTopology }) {
  const missing = [
    !models.length && ['model', t('rca.form.noModels'), linkButton(t('models.trainNew'), '#/train', { variant: 'primary', iconName: 'train' })],
    !topologies.length && ['network', t('rca.form.noTopology'), null],
    !incidentSets.length && ['database', t('rca.form.noIncidents'), linkButton(t('rca.form.uploadIncidents'), '#/datasets', { iconName: 'upload' })],
  ].filter(Boolean);
  if (missing.length) {
    return card(t('rca.form.title'), h('div.d-flex.flex-column.gap-3', { testid: 'rca-form-missing' },
      missing.map(([ic, text, action]) => h('div.d-flex.align-items-center.gap-3.flex-wrap', h('span.text-body-secondary.flex-grow-1', text), action))), { testid: 'rca-form' });
  }
  const wantedModel = ctx.prefs.get('last_model_id');
  const modelSel = select(models.map((m) => ({ value: m.id, label: t('rca.form.modelOption', { name: m.name, classes: m.classes, features: m.features }) })), {
    value: models.some((m) => m.id === wantedModel) ? wantedModel : models[0].id, testid: 'rca-model',
  });
  const topoSel = select(topologies.map((tp) => ({ value: tp.id, label: t('rca.form.topologyOption', { name: tp.name, nodes: fmtInt(tp.nodes) }) })), {
    value: chosenTopology && topologies.some((x) => x.id === chosenTopology) ? chosenTopology : topologies[0].id, testid: 'rca-topology',
  });
  const dsSel = select(incidentSets.map((d) => ({ value: d.id, label: t('rca.form.datasetOption', { name: d.name, incidents: fmtInt(d.incidents?.incidents), nodes: fmtInt(d.incidents?.nodes) }) })), {
    value: incidentSets[0].id, testid: 'rca-dataset',
  });
  const top = h('input.form-control', { type: 'number', testid: 'rca-top', name: 'rca-top', min: String(TOP.min), max: String(TOP.max), step: '1', value: String(TOP.value), inputmode: 'numeric' });
  const normal = h('select.form-select', { testid: 'rca-normal', name: 'rca-normal' });
  const skew = h('input.form-control', { type: 'number', testid: 'rca-skew', name: 'rca-skew', min: '0', step: 'any', placeholder: t('rca.form.serverDefault') });
  const hop = h('input.form-control', { type: 'number', testid: 'rca-hop-delay', name: 'rca-hop-delay', min: '0', step: 'any', placeholder: t('rca.form.serverDefault') });
  const name = h('input.form-control', { type: 'text', testid: 'rca-name', name: 'rca-name', maxlength: '255', autocomplete: 'off', placeholder: t('rca.form.namePlaceholder') });
  const errBox = h('div');
  const submit = button(t('rca.form.start'), { iconName: 'play', type: 'submit', testid: 'rca-start' });

  normal.required = true;
  const normalHint = h('div.form-text.text-warning-emphasis', { testid: 'rca-normal-hint', id: 'rca-normal-hint', hidden: true }, t('rca.form.normalNone'));
  const fillNormal = () => {
    const m = models.find((x) => String(x.id) === modelSel.value);
    const labels = (m?.labels || []).map(String);
    const chosen = defaultNormal(labels);
    clear(normal,
      chosen === '' && h('option', { value: '' }, t('rca.form.normalChoose')),
      labels.map((l) => h('option', { value: l }, className(m, l))));
    normal.value = chosen;
    normalHint.hidden = chosen !== '';
    if (chosen === '') normal.setAttribute('aria-describedby', 'rca-normal-hint');
    else normal.removeAttribute('aria-describedby');
  };
  fillNormal();
  modelSel.addEventListener('change', fillNormal);

  const byField = {
    model_id: modelSel, topology_id: topoSel, dataset_id: dsSel, name,
    'params.top': top, 'params.normal': normal, 'params.skew': skew, 'params.hop_delay': hop,
  };
  const controls = Object.values(byField);

  /* The parameters typed, or null after marking the wrong ones. */
  const readParams = () => {
    const params = { top: Number(top.value), normal: normal.value };
    let ok = true;
    if (!Number.isInteger(params.top) || params.top < TOP.min || params.top > TOP.max) {
      setInvalid(top, t('rca.form.topRange', { min: TOP.min, max: TOP.max })); ok = false;
    }
    if (params.normal === '') { setInvalid(normal, t('rca.form.normalNone')); ok = false; }
    if (skew.value !== '') {
      params.skew = Number(skew.value);
      if (!(params.skew >= SKEW.min && params.skew <= SKEW.max)) { setInvalid(skew, t('rca.form.skewRange')); ok = false; }
    }
    if (hop.value !== '') {
      params.hop_delay = Number(hop.value);
      if (!(params.hop_delay >= HOP.min && params.hop_delay <= HOP.max)) { setInvalid(hop, t('rca.form.hopRange')); ok = false; }
    }
    return ok ? params : null;
  };

  const form = h('form', { novalidate: true, testid: 'rca-form' },
    h('div.row.g-3',
      h('div.col-md-6', field(t('rca.form.model'), modelSel, { cls: 'mb-0' })),
      h('div.col-md-6', field(t('rca.form.topology'), topoSel, { cls: 'mb-0' })),
      h('div.col-md-6', field(t('rca.form.dataset'), dsSel, { cls: 'mb-0', help: t('rca.form.datasetHelp') })),
      h('div.col-6.col-md-3', field(t('rca.form.top'), top, { cls: 'mb-0', help: t('rca.form.topHelp', { min: TOP.min, max: TOP.max }) })),
      h('div.col-6.col-md-3', field(t('rca.form.normal'), normal, { cls: 'mb-0', help: t('rca.form.normalHelp') }), normalHint),
      h('div.col-12', h('details.advanced',
        h('summary.small', t('rca.form.advanced')),
        h('div.row.g-3.mt-1',
          h('div.col-sm-6', field(t('rca.form.skew'), skew, { cls: 'mb-0', help: t('rca.form.skewHelp') })),
          h('div.col-sm-6', field(t('rca.form.hop'), hop, { cls: 'mb-0', help: t('rca.form.hopHelp') }))))),
      h('div.col-md-8', field(t('rca.form.name'), name, { cls: 'mb-0' })),
      h('div.col-md-4.d-grid.align-items-end', submit)),
    h('div.mt-3', errBox));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    for (const c of controls) setInvalid(c, null);
    clear(errBox);
    const params = readParams();
    if (!params) { form.querySelector('[aria-invalid="true"]')?.focus(); return; }
    submit.disabled = true;
    try {
      const job = await ctx.api.jobs.rca({
        modelId: Number(modelSel.value), topologyId: Number(topoSel.value), datasetId: Number(dsSel.value), params, name: name.value.trim(),
      }, { label: t('rca.form.starting') });
      ctx.prefs.set({ last_model_id: Number(modelSel.value) });
      ctx.navigate(`#/jobs/${job.id}?follow=1`); // the job page opens the analysis when done
    } catch (e) {
      const target = byField[e.details?.field];
      if (target) { setInvalid(target, e.message); target.focus(); }
      clear(errBox, errorAlert(e, { testid: 'rca-error' }));
    } finally {
      submit.disabled = false;
    }
  });
  return card(t('rca.form.title'), form, { testid: 'rca-form-card' });
}

/* ---- analyses ---------------------------------------------------------------------- */

function analysesCard(items) {
  if (!items.length) return card(t('rca.list.title'), emptyState('network', t('rca.list.none'), t('rca.list.noneText')), { testid: 'analyses-card' });
  return card(t('rca.list.title'), h('div.list-group.list-group-flush', items.map((a) => {
    const faults = Object.entries(a.summary?.faults || {}).sort((x, y) => y[1] - x[1]).slice(0, 3);
    return h('a.list-group-item.list-group-item-action', { href: `#/analyses/${a.id}`, testid: 'analysis-row', dataset: { id: a.id } },
      h('div.fw-semibold.text-break', a.name),
      h('div.small.text-body-secondary', t('rca.list.meta', { incidents: fmtInt(a.incidents), nodes: fmtInt(a.topology_nodes), ago: fmtAgo(a.created_at) })),
      faults.length > 0 && h('div.small.text-body-secondary.text-break', t('rca.list.faults', {
        faults: faults.map(([f, n]) => `${f === '' ? t('rca.unobservedCause') : f} ${fmtInt(n)}`).join(', '),
      })));
  })), { testid: 'analyses-card', bodyCls: 'p-0', actions: badge(String(items.length), 'secondary') });
}

/* ---- the page ------------------------------------------------------------------------ */

export async function render(view, ctx) {
  const [models, allTopologies, datasets, allAnalyses] = await Promise.all([
    ctx.api.models.list({ signal: ctx.signal }),
    ctx.api.topologies.list({ signal: ctx.signal, includeDeleted: true }),
    ctx.api.datasets.list({ signal: ctx.signal }),
    ctx.api.analyses.list({ signal: ctx.signal, includeDeleted: true }),
  ]);
  const topologies = allTopologies.filter((x) => !x.deleted_at);
  const analyses = allAnalyses.filter((x) => !x.deleted_at);
  const incidentSets = datasets.filter((d) => d.kind === 'incidents' && !d.deleted_at);
  const chosenTopology = Number(ctx.query.topology) || null;

  const onDeleteTopology = async (tp, btn) => {
    btn.disabled = true;
    try {
      await ctx.api.topologies.remove(tp.id);
    } catch (e) { btn.disabled = false; showError(e); return; }
    undoToast(t('rca.topo.trashed', { name: tp.name }), t('rca.topo.restored', { name: tp.name }),
      () => ctx.api.topologies.restore(tp.id), () => ctx.navigate(`#/rca?topology=${tp.id}`));
    ctx.navigate(chosenTopology === tp.id ? '#/rca' : location.hash); // drawn again without it
  };

  const preview = chosenTopology && topologies.some((x) => x.id === chosenTopology) ? await previewCard(ctx, chosenTopology) : null;
  view.append(pageHeader(t('rca.title'), { subtitle: t('rca.pageSubtitle') }));
  view.append(h('div.row.g-4',
    h('div.col-lg-8.d-flex.flex-column.gap-4',
      analysisForm(ctx, { models, topologies, incidentSets, chosenTopology }),
      analysesCard(analyses),
      trashCard(allAnalyses, {
        kind: 'analysis',
        restore: (a) => ctx.api.analyses.restore(a.id),
        onRestored: (a) => { toast(t('rca.analysisRestored', { name: a.name })); ctx.navigate(`#/analyses/${a.id}`); },
        href: (a) => `#/analyses/${a.id}`,
      })),
    h('div.col-lg-4.d-flex.flex-column.gap-4',
      topologyCard(ctx, topologies, chosenTopology, onDeleteTopology),
      preview,
      trashCard(allTopologies, {
        kind: 'topology',
        restore: (tp) => ctx.api.topologies.restore(tp.id),
        onRestored: (tp) => { toast(t('rca.topo.restored', { name: tp.name })); ctx.navigate(`#/rca?topology=${tp.id}`); },
      }))));
}

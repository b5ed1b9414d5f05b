// classnames.js - what a fault class is called on screen. A model may carry,
// per label, a display name, a one-line description and the first action
// that brings a node back to normal (MODEL.class_names, docs/api.md; a
// DIAGNOSIS repeats its model's). Every place that shows a class goes
// through here, so a label without a name still reads as its label and a
// renamed class reads the same on every page.

/* The class_names object of a MODEL or a DIAGNOSIS ({} when it has none). */
const namesOf = (owner) => (owner && typeof owner.class_names === 'object' && owner.class_names) || {};

/* {label, name, description, action} for LABEL of OWNER (a MODEL or a
 * DIAGNOSIS): name falls back to the label, description and action to ''. */
export function classInfo(owner, label) {
  const key = label == null ? '' : String(label);
  const entry = namesOf(owner)[key] || {};
  return {
    label: key,
    name: entry.name || key,
    description: entry.description || '',
    action: entry.action || '',
  };
}

/* The text that stands for LABEL: "Name (label)" when the class is named,
 * else the label itself. */
export function className(owner, label) {
  const info = classInfo(owner, label);
  return info.name === info.label ? info.label : `${info.name} (${info.label})`;
}

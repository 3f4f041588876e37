// A form built from a JSON schema (the workflow configuration's): objects are
// fieldsets, scalars inputs with the schema's bounds and defaults, arrays of
// objects repeatable groups, arrays of strings comma-separated text (or a
// checklist when `choices` names them), enums lists. `read()` gives back a JSON
// value with empty optional fields left out. `options.choices[name]`: for an
// array of strings, [{value, label}] shown as checkboxes; `options.named[name]`:
// a function giving [{value, label}] for an integer field (a file's channels by
// name): a list to pick from when it gives any, a number input when it gives none;
// `form.refreshNamed()` redraws those fields (after the metadata arrives).
import { h } from "./ui.js";

function resolve(schema, root) {
  if (schema?.$ref) {
    // The field is titled by its property name, not by the shared definition's name.
    const { title: _definitionName, ...definition } = root.$defs[schema.$ref.split("/").pop()];
    return { ...definition, ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== "$ref")) };
  }
  // Optional values are `anyOf: [{type: X}, {type: "null"}]`.
  if (schema?.anyOf) {
    const real = schema.anyOf.find((option) => option.type !== "null") || {};
    return { ...resolve(real, root), ...schema, anyOf: undefined, nullable: true };
  }
  return schema || {};
}

const title = (name, schema) => schema.title || name.replaceAll("_", " ");

export function schemaForm(schema, initial = {}, options = {}) {
  const root = schema;
  const choices = options.choices || {};
  const named = options.named || {};
  const refreshers = [];
  const build = (name, raw, value, required) => {
    const node = resolve(raw, root);
    if (node.type === "object" || node.properties) return objectField(name, node, value || {});
    if (node.type === "array" && resolve(node.items, root).properties) return arrayOfObjects(name, node, value || []);
    return scalarField(name, node, value, required);
  };

  function objectField(name, node, value) {
    const required = new Set(node.required || []);
    const children = Object.entries(node.properties || {}).map(([key, child]) => [key, build(key, child, value[key], required.has(key))]);
    const element = h(
      "fieldset",
      { dataset: { field: name } },
      name ? h("legend", title(name, node)) : null,
      node.description && name ? h("p.hint", node.description) : null,
      ...children.map(([, child]) => child.element),
    );
    return {
      element,
      read() {
        const out = {};
        for (const [key, child] of children) {
          const v = child.read();
          if (v !== undefined) out[key] = v;
        }
        return out;
      },
    };
  }

  function arrayOfObjects(name, node, values) {
    const items = [];
    const list = h("div.items");
    const add = (value = {}) => {
      const item = build("", node.items, value, false);
      const remove = h("button.small", { type: "button", onclick: () => { items.splice(items.indexOf(item), 1); wrapper.remove(); } }, "Remove");
      const wrapper = h("div.item", item.element, remove);
      items.push(item);
      list.append(wrapper);
    };
    values.forEach(add);
    const element = h(
      "fieldset",
      { dataset: { field: name } },
      h("legend", title(name, node)),
      node.description ? h("p.hint", node.description) : null,
      list,
      h("button.small", { type: "button", onclick: () => add() }, `Add ${title(name, node).toLowerCase()}`),
    );
    return { element, read: () => items.map((item) => item.read()) };
  }

  // An integer picked by name: a select of `named[name]()` (value = the integer),
  // a number input while that list is empty. The value survives a redraw.
  function namedField(name, node, initialValue, required) {
    const holder = h("span.named-choice");
    let value = String(initialValue);
    let control = null;
    const draw = () => {
      if (control) value = control.value;
      const listed = named[name]();
      control = listed.length
        ? h("select", ...listed.map((option) => h("option", { value: option.value, selected: String(option.value) === value }, option.label)))
        : h("input", { type: "number", step: 1, min: node.minimum, max: node.maximum, value, required: required && !node.nullable });
      holder.replaceChildren(control);
    };
    Object.defineProperty(holder, "value", {
      get: () => (control ? control.value : value),
      set: (v) => {
        value = String(v);
        if (control) control.value = value;
      },
    });
    refreshers.push(draw);
    draw();
    return holder;
  }

  function scalarField(name, node, value, required) {
    const initialValue = value ?? node.default ?? "";
    let input;
    if (named[name] && node.type === "integer") {
      input = namedField(name, node, initialValue, required);
    } else if (node.enum) {
      input = h("select", ...node.enum.map((option) => h("option", { value: option, selected: option === initialValue }, option)));
    } else if (node.type === "boolean") {
      input = h("input", { type: "checkbox", checked: Boolean(initialValue) });
    } else if (node.type === "integer" || node.type === "number") {
      input = h("input", {
        type: "number",
        step: node.type === "integer" ? 1 : "any",
        min: node.minimum ?? node.exclusiveMinimum,
        max: node.maximum ?? node.exclusiveMaximum,
        value: initialValue,
        required: required && !node.nullable,
      });
    } else if (node.type === "array" && choices[name]) {
      const chosen = new Set(Array.isArray(initialValue) ? initialValue : []);
      const boxes = choices[name].map(({ value, label }) =>
        h("label.choice", h("input", { type: "checkbox", value, checked: chosen.has(value) }), label),
      );
      input = h("span.choices", ...boxes);
      input.read = () => boxes.map((box) => box.querySelector("input")).filter((box) => box.checked).map((box) => box.value);
    } else if (node.type === "array") {
      input = h("input", { type: "text", value: Array.isArray(initialValue) ? initialValue.join(", ") : "", placeholder: "comma-separated" });
    } else {
      input = h("input", { type: "text", value: initialValue, required: required && !node.nullable, placeholder: node.examples?.[0] ?? "" });
    }
    input.name = name;
    const element = h("div.field", { dataset: { field: name } }, h("label", { htmlFor: name }, title(name, node)), input, node.description ? h("small", node.description) : null);
    return {
      element,
      input,
      read() {
        if (node.type === "boolean") return input.checked;
        if (input.read) {
          const values = input.read();
          return values.length || required ? values : undefined;
        }
        const text = String(input.value).trim();
        if (text === "") return required ? (node.type === "array" ? [] : undefined) : undefined;
        if (node.type === "integer") return parseInt(text, 10);
        if (node.type === "number") return parseFloat(text);
        if (node.type === "array") return text.split(",").map((part) => part.trim()).filter(Boolean);
        return text;
      },
      set(v) {
        input.value = v;
      },
    };
  }

  const form = objectField("", resolve(schema, root), initial);
  form.element.classList.add("schema-form");
  form.refreshNamed = () => refreshers.forEach((draw) => draw());
  return form;
}

// The segment builder: edits the JSON rule tree of a segment (conditions in all/any groups)
// and keeps the form's "rule" field in step with it. The live count and the masked preview
// come from the server (the segments service); nothing is evaluated here.
(function () {
  "use strict";
  var source = document.getElementById("segment-builder-data");
  var root = document.getElementById("rule-builder");
  var textarea = document.getElementById("rule-json");
  var form = document.getElementById("segment-form");
  var preview = document.getElementById("segment-preview");
  if (!source || !root || !textarea || !form || !preview) { return; }
  var data = JSON.parse(source.textContent);
  var words = data.words;
  var fields = {};
  data.fields.forEach(function (item) { fields[item.field] = item; });
  var LIST_OPS = ["in", "has", "has_any", "has_none", "member_of_any"];
  var TRUE_OPS = ["never", "in_no_group"];
  var timer = null;

  function element(tag, attributes, children) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      node.setAttribute(name, attributes[name]);
    });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function select(options, chosen, attributes) {
    var node = element("select", attributes || {});
    options.forEach(function (option) {
      var item = element("option", { value: String(option.value) }, [option.label]);
      if (chosen !== undefined && String(chosen) === String(option.value)) {
        item.selected = true;
      }
      node.appendChild(item);
    });
    return node;
  }

  function optionsOf(field) {
    if (field.kind === "choice") { return field.choices; }
    if (field.kind === "score") {
      return [1, 2, 3, 4, 5].map(function (n) { return { value: n, label: String(n) }; });
    }
    return data.options[field.kind] || [];
  }

  function isChoice(field) {
    return ["choice", "store", "channel", "group", "score"].indexOf(field.kind) >= 0;
  }

  // --- one condition ------------------------------------------------------------------------

  function valueInput(field, op, value) {
    var box = element("span", { "class": "rule-value" });
    if (TRUE_OPS.indexOf(op) >= 0) {
      box.appendChild(element("span", {}, [words["true"]]));
      return box;
    }
    var many = LIST_OPS.indexOf(op) >= 0;
    var between = op === "between";
    var values = between ? (value || ["", ""]) : (many ? (value || []) : [value]);
    function single(current, name) {
      if (isChoice(field)) {
        return select([{ value: "", label: words.choose }].concat(optionsOf(field)), current,
                      { "data-role": name });
      }
      var type = field.kind === "date" ? "date" : "number";
      var shown = current;
      if (field.kind === "yuan" && current !== "" && current !== undefined && current !== null) {
        shown = Number(current) / 100;
      }
      if (field.kind === "names") { type = "text"; }
      return element("input", { type: type, "data-role": name,
                                value: shown === undefined || shown === null ? "" : shown,
                                step: field.kind === "yuan" ? "0.01" : "1" });
    }
    if (many && isChoice(field)) {
      var list = select(optionsOf(field), undefined, { multiple: "multiple", "data-role": "many",
                                                       size: "4" });
      Array.prototype.forEach.call(list.options, function (option) {
        option.selected = values.map(String).indexOf(option.value) >= 0;
      });
      box.appendChild(list);
    } else if (many) {
      box.appendChild(element("input", { type: "text", "data-role": "names",
                                         placeholder: words.names_hint,
                                         value: values.join(", ") }));
    } else if (between) {
      box.appendChild(element("span", {}, [words.from]));
      box.appendChild(single(values[0], "low"));
      box.appendChild(element("span", {}, [words.to]));
      box.appendChild(single(values[1], "high"));
    } else {
      box.appendChild(single(values[0], "one"));
    }
    return box;
  }

  function condition(node) {
    var row = element("div", { "class": "rule-condition", "data-testid": "rule-condition",
                               style: "display:flex;gap:.5em;align-items:center;margin:.3em 0" });
    var fieldName = fields[node.field] ? node.field : data.fields[0].field;
    var fieldSelect = select(data.fields.map(function (item) {
      return { value: item.field, label: item.label };
    }), fieldName, { "data-role": "field" });
    row.appendChild(fieldSelect);
    function redraw(op, value) {
      while (row.children.length > 1) { row.removeChild(row.lastChild); }
      var field = fields[fieldSelect.value];
      var chosenOp = field.ops.some(function (item) { return item.op === op; })
        ? op : field.ops[0].op;
      var opSelect = select(field.ops.map(function (item) {
        return { value: item.op, label: item.label };
      }), chosenOp, { "data-role": "op" });
      opSelect.addEventListener("change", function () { redraw(opSelect.value); changed(); });
      row.appendChild(opSelect);
      row.appendChild(valueInput(field, chosenOp, value));
      var remove = element("button", { type: "button", "class": "link" }, [words.remove]);
      remove.addEventListener("click", function () { row.remove(); changed(); });
      row.appendChild(remove);
    }
    fieldSelect.addEventListener("change", function () { redraw(); changed(); });
    redraw(node.op, node.value);
    return row;
  }

  function readCondition(row) {
    var field = fields[row.querySelector("[data-role=field]").value];
    var op = row.querySelector("[data-role=op]").value;
    function convert(text) {
      if (field.kind === "date" || field.kind === "choice" || field.kind === "names") {
        return text;
      }
      if (text === "") { return null; }
      if (field.kind === "yuan") { return Math.round(Number(text) * 100); }
      return Number(text);
    }
    var value;
    if (TRUE_OPS.indexOf(op) >= 0) {
      value = true;
    } else if (row.querySelector("[data-role=many]")) {
      value = Array.prototype.filter.call(row.querySelector("[data-role=many]").options,
        function (option) { return option.selected; })
        .map(function (option) { return convert(option.value); });
    } else if (row.querySelector("[data-role=names]")) {
      value = row.querySelector("[data-role=names]").value.split(/[,，]/)
        .map(function (name) { return name.trim(); })
        .filter(function (name) { return name; });
    } else if (op === "between") {
      value = [convert(row.querySelector("[data-role=low]").value),
               convert(row.querySelector("[data-role=high]").value)];
    } else {
      value = convert(row.querySelector("[data-role=one]").value);
    }
    return { field: field.field, op: op, value: value };
  }

  // --- groups -------------------------------------------------------------------------------

  function group(node, nested) {
    var key = node && node.any ? "any" : "all";
    var box = element("fieldset", { "class": "rule-group", "data-testid": "rule-group",
                                    style: "border:1px solid #d0d7de;margin:.4em 0;padding:.4em" });
    var combinator = select([{ value: "all", label: words.all }, { value: "any", label: words.any }],
                            key, { "data-role": "combinator" });
    combinator.addEventListener("change", changed);
    box.appendChild(element("legend", {}, [combinator]));
    var children = element("div", { "data-role": "children" });
    box.appendChild(children);
    ((node && node[key]) || []).forEach(function (child) {
      children.appendChild(child.all || child.any ? group(child, true) : condition(child));
    });
    var addCondition = element("button", { type: "button", "data-testid": "add-condition" },
                               [words.add_condition]);
    addCondition.addEventListener("click", function () {
      children.appendChild(condition({})); changed();
    });
    var addGroup = element("button", { type: "button", "data-testid": "add-group" },
                           [words.add_group]);
    addGroup.addEventListener("click", function () {
      children.appendChild(group({ any: [] }, true)); changed();
    });
    box.appendChild(addCondition);
    box.appendChild(addGroup);
    if (nested) {
      var remove = element("button", { type: "button", "class": "link" }, [words.remove]);
      remove.addEventListener("click", function () { box.remove(); changed(); });
      box.appendChild(remove);
    }
    return box;
  }

  function readGroup(box) {
    var key = box.querySelector("[data-role=combinator]").value;
    var parts = [];
    Array.prototype.forEach.call(box.querySelector("[data-role=children]").children,
      function (child) {
        parts.push(child.classList.contains("rule-group") ? readGroup(child)
                                                          : readCondition(child));
      });
    var tree = {};
    tree[key] = parts;
    return tree;
  }

  function representable(node) {
    if (!node || typeof node !== "object") { return false; }
    var key = node.all ? "all" : (node.any ? "any" : null);
    if (key === null) { return false; }
    return Object.keys(node).length === 1 && node[key].every(function (child) {
      return child.all || child.any ? representable(child) : Boolean(fields[child.field]);
    });
  }

  function build(rule) {
    while (root.firstChild) { root.removeChild(root.firstChild); }
    if (representable(rule)) {
      root.appendChild(group(rule, false));
      root.setAttribute("data-editable", "1");
    } else {
      root.appendChild(element("p", { "class": "hint" }, [words.unsupported]));
      root.setAttribute("data-editable", "0");
    }
  }

  // --- the live count -----------------------------------------------------------------------

  function count() {
    var body = new URLSearchParams();
    body.set("csrf_token", form.querySelector("input[name=csrf_token]").value);
    body.set("rule", textarea.value);
    preview.setAttribute("data-loading", "1");
    fetch("/console/campaigns/segments/preview", {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" }
    }).then(function (response) { return response.text(); }).then(function (html) {
      preview.innerHTML = html;
      preview.removeAttribute("data-loading");
    });
  }

  function sync() {
    if (root.getAttribute("data-editable") === "1") {
      textarea.value = JSON.stringify(readGroup(root.querySelector(".rule-group")), null, 1);
    }
  }

  function changed() {
    sync();
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(count, 400);
  }

  root.addEventListener("change", changed);
  root.addEventListener("input", changed);
  textarea.addEventListener("change", function () {
    try { build(JSON.parse(textarea.value)); } catch (error) { build(null); }
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(count, 400);
  });
  document.getElementById("segment-count").addEventListener("click", function () {
    if (timer) { clearTimeout(timer); }
    sync();
    count();
  });
  form.addEventListener("submit", sync);
  build(data.rule);
  count();
})();

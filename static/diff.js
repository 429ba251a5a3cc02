/* Diff viewer: unified / side-by-side toggle (remembered), context expansion, file navigation.
 *
 * The server renders each file once, as unified rows. The side-by-side table is derived from
 * those rows by cloning their cells (never by parsing strings), so both views show exactly the
 * same escaped, highlighted code. Served as a static file: the CSP forbids inline script.
 *
 * Line comments: the server renders every thread in the page's comment list (which works
 * without this script); here each thread moves under the line it is anchored to, a "+" on a
 * line opens the same form the list has, and j / k walk through files and comments.
 */
(function () {
  "use strict";

  var STORAGE_KEY = "wattson.diffView";
  var STEP = 20;

  function storedView() {
    try {
      return window.localStorage.getItem(STORAGE_KEY) === "sbs" ? "sbs" : "unified";
    } catch (e) {
      return "unified";
    }
  }

  function storeView(view) {
    try {
      window.localStorage.setItem(STORAGE_KEY, view);
    } catch (e) {
      /* private mode: the choice just is not remembered */
    }
  }

  function el(tag, className) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    return node;
  }

  // --- side by side ------------------------------------------------------------------------

  function lineCell(number, side) {
    var td = el("td", "ln" + (side ? " " + side : ""));
    td.textContent = number || "";
    return td;
  }

  function codeCell(sourceRow, side) {
    var td = el("td", "code hl" + (side ? " " + side : ""));
    var source = sourceRow.cells[sourceRow.cells.length - 1];
    for (var i = 0; i < source.childNodes.length; i++) {
      td.appendChild(source.childNodes[i].cloneNode(true));
    }
    return td;
  }

  function emptyCells(tr) {
    tr.appendChild(el("td", "ln empty"));
    tr.appendChild(el("td", "code empty"));
  }

  function fullWidthClone(row) {
    var clone = row.cloneNode(true);
    clone.removeAttribute("id");
    clone.querySelectorAll("[id]").forEach(function (node) { node.removeAttribute("id"); });
    clone.querySelectorAll("label[for]").forEach(function (node) { node.removeAttribute("for"); });
    var cells = clone.cells;
    if (cells.length >= 2) {
      cells[0].colSpan = 1;
      cells[cells.length - 1].colSpan = 3;
    }
    clone._source = row;
    return clone;
  }

  function buildSideBySide(unified) {
    var table = el("table", "dtable sbs");
    table.dataset.file = unified.dataset.file;
    table.dataset.path = unified.dataset.path || "";
    var colgroup = el("colgroup");
    ["c-ln", "c-half", "c-ln", "c-half"].forEach(function (name) {
      colgroup.appendChild(el("col", name));
    });
    table.appendChild(colgroup);
    var body = el("tbody");
    table.appendChild(body);

    var dels = [];
    var adds = [];

    function warningRowAfter(row) {
      var next = row && row.nextElementSibling;
      return next && next.classList.contains("wmsg") ? next : null;
    }

    function flush() {
      var count = Math.max(dels.length, adds.length);
      for (var i = 0; i < count; i++) {
        var left = dels[i];
        var right = adds[i];
        var tr = el("tr", "r chg");
        tr._left = left;
        tr._right = right;
        if (left) {
          tr.appendChild(lineCell(left.dataset.o, "del"));
          tr.appendChild(codeCell(left, "del"));
          left._clone = tr;
        } else {
          emptyCells(tr);
        }
        if (right) {
          tr.appendChild(lineCell(right.dataset.n, "add"));
          tr.appendChild(codeCell(right, "add"));
          right._clone = tr;
          if (right.classList.contains("warn")) tr.classList.add("warn");
        } else {
          emptyCells(tr);
        }
        body.appendChild(tr);
        var warning = warningRowAfter(right);
        if (warning) body.appendChild(fullWidthClone(warning));
      }
      dels = [];
      adds = [];
    }

    var rows = unified.tBodies[0].rows;
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i];
      var kind = row.classList;
      if (kind.contains("wmsg")) continue; // re-attached after its added line in flush()
      if (kind.contains("new-thread-row")) continue; // an unsent form belongs to one view
      if (kind.contains("del")) {
        if (adds.length) flush();
        dels.push(row);
        continue;
      }
      if (kind.contains("add")) {
        adds.push(row);
        continue;
      }
      flush();
      if (kind.contains("ctx")) {
        var tr = el("tr", "r ctx" + (kind.contains("expanded") ? " expanded" : ""));
        tr.appendChild(lineCell(row.dataset.o));
        tr.appendChild(codeCell(row));
        tr.appendChild(lineCell(row.dataset.n));
        tr.appendChild(codeCell(row));
        tr._source = row;
        row._clone = tr;
        body.appendChild(tr);
      } else {
        var clone = fullWidthClone(row);
        row._clone = clone;
        body.appendChild(clone);
      }
    }
    flush();
    return table;
  }

  function refreshSideBySide(unified) {
    var wrap = unified.parentNode;
    var old = wrap.querySelector("table.dtable.sbs");
    var fresh = buildSideBySide(unified);
    if (old) wrap.replaceChild(fresh, old);
    else wrap.appendChild(fresh);
  }

  function ensureSideBySide(container) {
    container.querySelectorAll("details.dfile[open] table.dtable.unified").forEach(function (t) {
      if (!t._sbsFresh) {
        refreshSideBySide(t);
        t._sbsFresh = true;
      }
    });
  }

  function setView(container, view) {
    container.dataset.view = view;
    container.querySelectorAll("[data-view-choice]").forEach(function (button) {
      var active = button.dataset.viewChoice === view;
      button.classList.toggle("is-active", active);
      button.setAttribute("aria-pressed", active ? "true" : "false");
    });
    if (view === "sbs") ensureSideBySide(container);
  }

  // --- context expansion -------------------------------------------------------------------

  function rowsFromHtml(html) {
    var template = document.createElement("template");
    template.innerHTML = html; // our own server's escaped fragment, same origin
    return Array.prototype.slice.call(template.content.querySelectorAll("tr"));
  }

  function gapLabel(gap) {
    var count = Number(gap.dataset.to) - Number(gap.dataset.from) + 1;
    var all = gap.querySelector('[data-expand="all"]');
    if (all) all.textContent = "Show " + count + " unchanged line" + (count === 1 ? "" : "s");
    if (count <= 2 * STEP) {
      gap.querySelectorAll('[data-expand="up"], [data-expand="down"]').forEach(function (b) {
        b.remove();
      });
    }
  }

  function expand(container, gap, mode) {
    var from = Number(gap.dataset.from);
    var to = Number(gap.dataset.to);
    var start = from;
    var end = to;
    if (mode === "down") end = Math.min(to, from + STEP - 1);
    if (mode === "up") start = Math.max(from, to - STEP + 1);
    var url =
      container.dataset.contextUrl +
      "?file=" + encodeURIComponent(gap.dataset.file) +
      "&from=" + start + "&to=" + end;
    var buttons = gap.querySelectorAll("button.expand");
    buttons.forEach(function (b) { b.disabled = true; });
    var oldError = gap.querySelector(".gap-error");
    if (oldError) oldError.remove();

    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) throw new Error("the server answered " + response.status);
        return response.text();
      })
      .then(function (html) {
        var rows = rowsFromHtml(html);
        rows.forEach(function (r) { r.classList.add("expanded"); });
        var parent = gap.parentNode;
        if (mode === "up") {
          var anchor = gap.nextSibling;
          rows.forEach(function (r) { parent.insertBefore(r, anchor); });
          gap.dataset.to = String(start - 1);
        } else {
          rows.forEach(function (r) { parent.insertBefore(r, gap); });
          gap.dataset.from = String(end + 1);
        }
        if (mode === "all" || Number(gap.dataset.from) > Number(gap.dataset.to)) {
          gap.remove();
        } else {
          gapLabel(gap);
          buttons.forEach(function (b) { b.disabled = false; });
        }
        var table = parent.closest("table");
        table._sbsFresh = false;
        if (container.dataset.view === "sbs") {
          refreshSideBySide(table);
          table._sbsFresh = true;
        }
      })
      .catch(function (error) {
        buttons.forEach(function (b) { b.disabled = false; });
        var note = el("span", "gap-error");
        note.textContent = "Could not load these lines: " + error.message;
        gap.querySelector("td:last-child").appendChild(note);
      });
  }

  // --- navigation --------------------------------------------------------------------------

  function reveal(container, target) {
    target = target.closest("tr.thread-row") || target;
    var details = target.closest("details.dfile");
    if (details && !details.open) details.open = true;
    if (container.dataset.view === "sbs") ensureSideBySide(container);
    var shown = container.dataset.view === "sbs" && target._clone ? target._clone : target;
    shown.scrollIntoView({ block: "center" });
    shown.classList.remove("flash");
    void shown.offsetWidth; // restart the animation
    shown.classList.add("flash");
  }

  // Line links: clicking a line number puts "#f<file>-n<new line>" (or -o<old line>) in the
  // address bar, so a reviewer can point a colleague at one line.
  function sourceRow(cell) {
    var tr = cell.closest("tr");
    if (tr._source) return tr._source; // a side-by-side copy of a context row
    if (tr._left || tr._right) return cell.classList.contains("del") ? tr._left : tr._right;
    return tr;
  }

  function lineAnchor(cell) {
    var source = sourceRow(cell);
    var table = cell.closest("table.dtable");
    if (!source || !table || !source.dataset) return "";
    var n = source.dataset.n;
    var o = source.dataset.o;
    if (!n && !o) return "";
    return "f" + table.dataset.file + (n ? "-n" + n : "-o" + o);
  }

  function findLine(container, anchor) {
    var match = /^f(\d+)-([no])(\d+)$/.exec(anchor);
    if (!match) return null;
    var attribute = match[2] === "n" ? "data-n" : "data-o";
    return container.querySelector(
      'table.dtable.unified[data-file="' + match[1] + '"] tr.r[' + attribute + '="' + match[3] + '"]'
    );
  }

  // "n" / "p": next / previous change, across files, in whichever view is showing.
  function jump(container, direction) {
    var view = container.dataset.view === "sbs" ? "sbs" : "unified";
    var blocks = Array.prototype.filter.call(
      container.querySelectorAll("details.dfile[open] table.dtable." + view + " tr"),
      function (row, index, rows) {
        var changed = row.classList.contains("add") || row.classList.contains("del") ||
          row.classList.contains("chg");
        if (!changed) return false;
        var previous = row.previousElementSibling;
        while (previous && (previous.classList.contains("wmsg") ||
            previous.classList.contains("thread-row"))) {
          previous = previous.previousElementSibling;
        }
        var previousChanged = previous && (previous.classList.contains("add") ||
          previous.classList.contains("del") || previous.classList.contains("chg"));
        return !previousChanged; // first row of each run of changed lines
      }
    );
    if (!blocks.length) return;
    var marker = window.innerHeight * 0.3;
    var target = null;
    if (direction > 0) {
      target = blocks.find(function (row) { return row.getBoundingClientRect().top > marker + 2; });
    } else {
      for (var i = blocks.length - 1; i >= 0; i--) {
        if (blocks[i].getBoundingClientRect().top < marker - 2) { target = blocks[i]; break; }
      }
    }
    if (!target) return;
    window.scrollBy(0, target.getBoundingClientRect().top - marker);
    target.classList.remove("flash");
    void target.offsetWidth;
    target.classList.add("flash");
  }


  // --- line comments -----------------------------------------------------------------------

  function unifiedTable(container, path) {
    var tables = container.querySelectorAll("table.dtable.unified");
    for (var i = 0; i < tables.length; i++) {
      if (tables[i].dataset.path === path) return tables[i];
    }
    return null;
  }

  function lineRow(table, side, line) {
    var attribute = side === "old" ? "data-o" : "data-n";
    return table.querySelector("tr.r[" + attribute + '="' + Number(line) + '"]');
  }

  // The row after which something hangs under `row`: past its warning and earlier threads.
  function insertionPoint(row) {
    var last = row;
    while (last.nextElementSibling && (last.nextElementSibling.classList.contains("wmsg") ||
        last.nextElementSibling.classList.contains("thread-row"))) {
      last = last.nextElementSibling;
    }
    return last;
  }

  function hangRow(row, className, content) {
    var tr = el("tr", className);
    tr.appendChild(el("td", "ln thread-gutter"));
    var cell = el("td", "thread-cell");
    cell.colSpan = row.closest("table.dtable.sbs") ? 3 : 2;
    cell.appendChild(content);
    tr.appendChild(cell);
    var after = insertionPoint(row);
    after.parentNode.insertBefore(tr, after.nextSibling);
    return tr;
  }

  function markRange(table, side, start, end, className) {
    for (var line = start; line <= end; line++) {
      var row = lineRow(table, side, line);
      if (row) row.classList.add(className);
    }
  }

  // Each thread that is not outdated moves under the last line of its range; one whose line
  // the diff does not show (a file too large to render) stays in the list.
  function placeThreads(container, section) {
    section.querySelectorAll("article.thread[data-placeable]").forEach(function (thread) {
      var table = unifiedTable(container, thread.dataset.path);
      var row = table && lineRow(table, thread.dataset.side, thread.dataset.end);
      if (!row) return;
      hangRow(row, "thread-row", thread);
      markRange(table, thread.dataset.side, Number(thread.dataset.start),
        Number(thread.dataset.end), "has-thread");
      table._sbsFresh = false;
    });
  }

  // --- starting a thread from a line ----------------------------------------------------------

  function lineOf(cell) {
    var source = sourceRow(cell);
    if (!source || !source.dataset || !source.classList.contains("r")) return null;
    var table = cell.closest("table.dtable");
    var unified = source.closest("table.dtable.unified");
    if (!table || !unified) return null;
    var side = source.dataset.n ? "new" : "old";
    var line = side === "new" ? source.dataset.n : source.dataset.o;
    if (!line) return null;
    return { row: source, shown: cell.closest("tr"), table: unified, path: unified.dataset.path,
      side: side, line: Number(line) };
  }

  function commenting(container, section) {
    var template = document.getElementById("inline-thread-template");
    if (!template) return;
    var button = el("button", "add-comment");
    button.type = "button";
    button.textContent = "+";
    button.title = "Comment on this line (shift-click: a range)";
    button.setAttribute("aria-label", "Comment on this line");
    var open = null; // {row: <tr>, form, path, side, start, end, table}

    function close() {
      if (!open) return;
      open.table.querySelectorAll("tr.selecting").forEach(function (r) {
        r.classList.remove("selecting");
      });
      open.row.remove();
      open = null;
    }

    function describe() {
      var range = open.start === open.end ? open.start : open.start + "-" + open.end;
      open.form.querySelector(".inline-thread-where").textContent =
        "Commenting on " + open.path + ":" + range + (open.side === "old" ? " (old side)" : "");
      open.form.elements.start_line.value = open.start;
      open.form.elements.end_line.value = open.end;
      open.table.querySelectorAll("tr.selecting").forEach(function (r) {
        r.classList.remove("selecting");
      });
      markRange(open.table, open.side, open.start, open.end, "selecting");
    }

    function start(at, extend) {
      if (open && extend && open.path === at.path && open.side === at.side) {
        open.start = Math.min(open.start, at.line);
        open.end = Math.max(open.end, at.line);
        describe();
        open.form.elements.text.focus();
        return;
      }
      close();
      var form = template.content.firstElementChild.cloneNode(true);
      form.elements.path.value = at.path;
      form.elements.side.value = at.side;
      var row = hangRow(at.shown, "new-thread-row", form);
      open = { row: row, form: form, path: at.path, side: at.side, start: at.line,
        end: at.line, table: at.table };
      describe();
      form.elements.text.focus();
    }

    container.addEventListener("mouseover", function (event) {
      var cell = event.target.closest("table.dtable td.code, table.dtable td.ln");
      if (!cell || !lineOf(cell)) return;
      var row = cell.closest("tr");
      // In side by side, the "+" goes on the half under the pointer.
      var code = cell.classList.contains("code") ? cell : cell.nextElementSibling;
      if (!code || !code.classList.contains("code")) code = row.querySelector("td.code");
      if (code && button.parentNode !== code) code.appendChild(button);
    });

    container.addEventListener("click", function (event) {
      if (event.target === button) {
        var at = lineOf(button.parentNode);
        if (at) start(at, event.shiftKey);
        return;
      }
      if (event.target.closest("[data-cancel-thread]")) close();
    });
  }

  // --- j / k: files and comments -------------------------------------------------------------

  function visible(node) {
    return node.getClientRects().length > 0;
  }

  function walk(container, direction) {
    // Threads in the diff and outdated ones left in the list; hidden copies (the other view,
    // a folded file) are skipped.
    var stops = Array.prototype.filter.call(
      document.querySelectorAll(".diffview details.dfile > summary, article.thread"),
      visible
    );
    if (!stops.length) return;
    var marker = window.innerHeight * 0.3;
    var target = null;
    if (direction > 0) {
      target = stops.find(function (node) { return node.getBoundingClientRect().top > marker + 2; });
    } else {
      for (var i = stops.length - 1; i >= 0; i--) {
        if (stops[i].getBoundingClientRect().top < marker - 2) { target = stops[i]; break; }
      }
    }
    if (!target) return;
    window.scrollBy(0, target.getBoundingClientRect().top - marker);
    document.querySelectorAll(".kbd-current").forEach(function (node) {
      node.classList.remove("kbd-current");
    });
    target.classList.add("kbd-current");
    var focusable = target.matches("summary") ? target : target.querySelector("summary");
    if (focusable) focusable.focus({ preventScroll: true });
  }

  // "Viewed" marks, per page (each revision has its own URL), kept in this browser only.
  function viewedKey() {
    return "wattson.viewed:" + window.location.pathname;
  }

  function loadViewed() {
    try {
      return JSON.parse(window.localStorage.getItem(viewedKey()) || "[]");
    } catch (e) {
      return [];
    }
  }

  function saveViewed(container) {
    var marked = [];
    container.querySelectorAll("input[data-viewed]:checked").forEach(function (box) {
      marked.push(box.dataset.viewed);
    });
    try {
      window.localStorage.setItem(viewedKey(), JSON.stringify(marked));
    } catch (e) {
      /* not remembered */
    }
    countViewed(container);
  }

  function countViewed(container) {
    var boxes = container.querySelectorAll("input[data-viewed]");
    var done = container.querySelectorAll("input[data-viewed]:checked").length;
    var label = container.querySelector(".viewed-count");
    if (label) label.textContent = done ? "· " + done + " of " + boxes.length + " viewed" : "";
  }

  function init(container) {
    var section = document.querySelector("[data-threads]");
    if (section) {
      placeThreads(container, section);
      if (section.hasAttribute("data-can-comment")) commenting(container, section);
      section.addEventListener("click", function (event) {
        var link = event.target.closest("a.thread-link");
        var target = link && document.getElementById(link.getAttribute("href").slice(1));
        if (target && container.contains(target)) {
          event.preventDefault();
          reveal(container, target);
          if (window.history.replaceState) {
            window.history.replaceState(null, "", link.getAttribute("href"));
          }
        }
      });
    }
    setView(container, storedView());

    var viewed = loadViewed();
    container.querySelectorAll("input[data-viewed]").forEach(function (box) {
      if (viewed.indexOf(box.dataset.viewed) !== -1) {
        box.checked = true;
        box.closest("details.dfile").open = false;
        box.closest("details.dfile").classList.add("is-viewed");
      }
    });
    countViewed(container);
    container.addEventListener("change", function (event) {
      var box = event.target.closest("input[data-viewed]");
      if (!box) return;
      var details = box.closest("details.dfile");
      details.open = !box.checked;
      details.classList.toggle("is-viewed", box.checked);
      saveViewed(container);
    });

    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      var tag = (event.target.tagName || "").toLowerCase();
      if (tag === "input" || tag === "textarea" || tag === "select" || event.target.isContentEditable) {
        return;
      }
      if (event.key === "n") jump(container, 1);
      else if (event.key === "p") jump(container, -1);
      else if (event.key === "j") walk(container, 1);
      else if (event.key === "k") walk(container, -1);
    });

    container.addEventListener("click", function (event) {
      var choice = event.target.closest("[data-view-choice]");
      if (choice) {
        setView(container, choice.dataset.viewChoice);
        storeView(choice.dataset.viewChoice);
        return;
      }
      var files = event.target.closest("[data-files]");
      if (files) {
        var open = files.dataset.files === "open";
        container.querySelectorAll("details.dfile").forEach(function (d) { d.open = open; });
        return;
      }
      var whole = event.target.closest("[data-expand-file]");
      if (whole) {
        var details = whole.closest("details.dfile");
        details.querySelectorAll("table.dtable.unified tr.gap").forEach(function (gap) {
          expand(container, gap, "all");
        });
        whole.remove();
        return;
      }
      var button = event.target.closest("button.expand");
      if (button) {
        var row = button.closest("tr");
        var gap = row._source || row; // a side-by-side clone points at its unified row
        expand(container, gap, button.dataset.expand);
        return;
      }
      var number = event.target.closest("td.ln");
      if (number && number.textContent.trim()) {
        var row = number.closest("tr");
        var anchor = lineAnchor(number);
        if (anchor) {
          if (window.history.replaceState) window.history.replaceState(null, "", "#" + anchor);
          row.classList.remove("flash");
          void row.offsetWidth;
          row.classList.add("flash");
        }
        return;
      }
      var link = event.target.closest("a.warn-link, a.file-link");
      if (link) {
        var id = link.getAttribute("href").slice(1);
        var target = document.getElementById(id);
        if (target) {
          event.preventDefault();
          reveal(container, target);
          if (window.history.replaceState) window.history.replaceState(null, "", "#" + id);
        }
      }
    });

    container.addEventListener(
      "toggle",
      function (event) {
        if (event.target.matches("details.dfile") && event.target.open &&
            container.dataset.view === "sbs") {
          ensureSideBySide(container);
        }
      },
      true
    );

    if (window.location.hash.length > 1) {
      var id = window.location.hash.slice(1);
      var target = document.getElementById(id) || findLine(container, id);
      if (target && container.contains(target)) reveal(container, target);
    }
  }

  function start() {
    document.querySelectorAll(".diffview").forEach(init);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

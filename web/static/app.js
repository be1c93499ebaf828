/* Jiedui: small page behaviours. No inline scripts anywhere (the content security policy
   forbids them): this file is loaded from base.html and the card pages with `defer`.

   Copy buttons: <button data-copy="ID" data-copied="…" data-copy-failed="…"> copies the
   value of the field #ID to the clipboard. Where the clipboard cannot be used (an old
   browser, a page not served over https, WeChat's browser refusing it), the text in the
   field is selected instead, so the person copies it with the phone's own command. The
   message goes to the .copy-status next to the button (read out by screen readers).
   Listens on the document, so buttons that htmx swaps in work too. */
(function () {
  "use strict";

  function statusFor(button) {
    var box = button.closest ? button.closest(".copy-field") : null;
    return box ? box.querySelector(".copy-status") : null;
  }

  function say(button, text) {
    var status = statusFor(button);
    if (status && text) {
      status.textContent = text;
    }
  }

  function select(field) {
    field.focus();
    if (typeof field.select === "function") {
      field.select();
    }
    if (typeof field.setSelectionRange === "function") {
      field.setSelectionRange(0, field.value.length);  // iOS selects nothing with select()
    }
  }

  function fallback(button, field) {
    select(field);
    var copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (error) {
      copied = false;
    }
    say(button, copied ? button.getAttribute("data-copied")
                       : button.getAttribute("data-copy-failed"));
  }

  document.addEventListener("click", function (event) {
    var button = event.target && event.target.closest ? event.target.closest("[data-copy]") : null;
    if (!button) {
      return;
    }
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) {
      return;
    }
    event.preventDefault();
    var text = field.value !== undefined ? field.value : field.textContent;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () {
        select(field);
        say(button, button.getAttribute("data-copied"));
      }, function () {
        fallback(button, field);
      });
    } else {
      fallback(button, field);
    }
  });
}());

/* ---------------------------------------------------------------------------------------
   HTMX panels for keyboard and screen-reader users (base.html's #announcer).

   After a swap that a click or a submitted form asked for, focus moves into what was
   swapped in: the first field refused (aria-invalid), else the first error, else the
   panel's heading, else the panel itself (each made focusable with tabindex=-1). What the
   swap says — its notice (.flash, role=status) or a list's count (.summary, data-announce)
   — is read out politely. A search typed or a filter changed keeps focus where it is and
   only announces the new count. Swaps nobody asked for (polling, loading on `load`,
   refreshing on another part's event) stay silent. A panel closed (hx-swap="delete")
   gives focus back to what opened it. */
(function () {
  "use strict";

  var handled = typeof WeakSet === "function" ? new WeakSet() : null;
  var opener = null;  // the button or link that opened the panel shown last

  function announce(text) {
    var region = document.getElementById("announcer");
    text = (text || "").replace(/\s+/g, " ").trim();
    if (!region || !text) {
      return;
    }
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 60);
  }

  function focusOn(element) {
    if (!element) {
      return false;
    }
    if (!element.matches("a[href], button, input, select, textarea, summary, [tabindex]")) {
      element.setAttribute("tabindex", "-1");
    }
    element.focus();
    return document.activeElement === element;
  }

  function firstOf(panel, selector) {
    if (panel.matches && panel.matches(selector)) {
      return panel;
    }
    return panel.querySelector(selector);
  }

  function panelOf(event) {
    var target = event.detail.target;
    if (target && target.isConnected) {
      return target;
    }
    if (target && target.id && document.getElementById(target.id)) {
      return document.getElementById(target.id);  // swapped outerHTML: its successor
    }
    return event.target && event.target.isConnected ? event.target : null;
  }

  function asked(detail) {
    var cause = detail.requestConfig && detail.requestConfig.triggeringEvent;
    var elt = detail.requestConfig ? detail.requestConfig.elt : detail.elt;
    if (!cause || (cause.type !== "click" && cause.type !== "submit")) {
      return false;  // polling, `load`, typing, a filter's `change`, another part's event
    }
    return !(elt && elt.closest && elt.closest("[role=search]"));
  }

  function silent(detail) {
    var cause = detail.requestConfig && detail.requestConfig.triggeringEvent;
    var elt = detail.requestConfig ? detail.requestConfig.elt : detail.elt;
    var trigger = elt && elt.getAttribute ? elt.getAttribute("hx-trigger") || "" : "";
    return !cause || /\b(load|every|from:|revealed|intersect)\b/.test(trigger);
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    var detail = event.detail || {};
    var key = detail.xhr || detail;
    if (handled) {
      if (handled.has(key)) {
        return;  // one swap settles several elements: act once
      }
      handled.add(key);
    }
    if (silent(detail)) {
      return;
    }
    var panel = panelOf(event);
    if (!panel) {
      return;
    }
    // (an export link's own status, empty until it is used, is not what the swap says)
    var said = firstOf(panel, "[data-announce], .flash, " +
                       "[role=status]:not(#announcer):not(.export-status), .summary");
    if (said) {
      announce(said.textContent);
    }
    if (!asked(detail)) {
      return;
    }
    var elt = detail.requestConfig ? detail.requestConfig.elt : null;
    if (elt && elt.isConnected && !panel.contains(elt)) {
      opener = elt;
    }
    focusOn(firstOf(panel, "[aria-invalid=true]")) ||
      focusOn(firstOf(panel, ".error, .field-error, [role=alert]")) ||
      focusOn(firstOf(panel, "h1, h2, h3")) ||
      focusOn(panel);
  });

  // A panel closed by its own button: focus goes back to what opened it (or the page).
  document.addEventListener("htmx:beforeSwap", function (event) {
    var elt = event.detail && event.detail.requestConfig ? event.detail.requestConfig.elt : null;
    var swap = elt && elt.getAttribute ? elt.getAttribute("hx-swap") || "" : "";
    if (swap.indexOf("delete") !== 0) {
      return;
    }
    window.setTimeout(function () {
      if (document.activeElement && document.activeElement !== document.body) {
        return;
      }
      if (!(opener && opener.isConnected && focusOn(opener))) {
        focusOn(document.querySelector("main h1") || document.getElementById("main"));
      }
    }, 50);
  });
}());

/* The "More" menu of the navigation (a <details>, which works without this): Escape
   closes it and returns to its button; a tap outside closes it. */
(function () {
  "use strict";

  function openMenus() {
    return document.querySelectorAll("details.nav-more[open]");
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") {
      return;
    }
    Array.prototype.forEach.call(openMenus(), function (menu) {
      menu.open = false;
      var summary = menu.querySelector("summary");
      if (summary) {
        summary.focus();
      }
    });
  });

  document.addEventListener("click", function (event) {
    Array.prototype.forEach.call(openMenus(), function (menu) {
      if (!menu.contains(event.target)) {
        menu.open = false;
      }
    });
  });
}());

/* ---------------------------------------------------------------------------------------
   Sign-in at a session (签到): web/signins.py, templates/signin/_home_action.html.

   A sign-in form (form[data-geolocate]) asks the phone where it is just before htmx sends
   it (the htmx:confirm event): the position fills the form's hidden latitude, longitude and
   accuracy fields. Refused, unavailable or too slow, the sign-in goes without it and the
   form's status line says so (the server's notice says so too). Without JavaScript the form
   posts without a position.

   A sign-out form (form[data-max-bytes]) checks the photos chosen before sending them: at
   most data-max-photos, together at most data-max-bytes (the server refuses a larger
   request before reading it, with no answer the page could show).
   --------------------------------------------------------------------------------------- */
(function () {
  "use strict";

  var WAIT_MS = 10000;  // how long the phone may take to say where it is

  function hidden(form, name) {
    return form.querySelector("input[type=hidden][name$='-" + name + "']");
  }

  function locate(form, done) {
    var status = form.querySelector("[data-geolocate-status]");
    var finished = false;

    function say(text) {
      if (status && text) {
        status.textContent = text;
      }
    }

    function finish(position) {
      if (finished) {
        return;
      }
      finished = true;
      if (position && position.coords) {
        hidden(form, "latitude").value = String(position.coords.latitude);
        hidden(form, "longitude").value = String(position.coords.longitude);
        if (typeof position.coords.accuracy === "number") {
          hidden(form, "accuracy").value = String(position.coords.accuracy);
        }
      } else {
        say(form.getAttribute("data-no-position"));
      }
      done();
    }

    if (!navigator.geolocation || !hidden(form, "latitude")) {
      finish(null);
      return;
    }
    say(form.getAttribute("data-locating"));
    try {
      navigator.geolocation.getCurrentPosition(finish, function () { finish(null); },
        {enableHighAccuracy: true, timeout: WAIT_MS, maximumAge: 60000});
    } catch (error) {
      finish(null);
    }
    // some browsers never answer while their permission prompt is left open
    window.setTimeout(function () { finish(null); }, WAIT_MS + 2000);
  }

  function photoProblem(form) {
    var input = form.querySelector("input[type=file]");
    if (!input || !input.files) {
      return "";
    }
    if (input.files.length > parseInt(form.getAttribute("data-max-photos"), 10)) {
      return form.getAttribute("data-too-many");
    }
    var total = 0;
    for (var i = 0; i < input.files.length; i += 1) {
      total += input.files[i].size;
    }
    return total > parseInt(form.getAttribute("data-max-bytes"), 10)
      ? form.getAttribute("data-too-large") : "";
  }

  document.addEventListener("htmx:confirm", function (event) {
    var form = (event.detail && event.detail.elt) || event.target;
    if (!form || !form.matches) {
      return;
    }
    if (form.matches("form[data-geolocate]")) {
      if (form.getAttribute("data-located") === "yes") {
        return;
      }
      event.preventDefault();
      if (form.getAttribute("data-located") === "asking") {
        return;  // a second tap while the phone is asked
      }
      form.setAttribute("data-located", "asking");
      locate(form, function () {
        form.setAttribute("data-located", "yes");
        event.detail.issueRequest(true);
      });
    } else if (form.matches("form[data-max-bytes]")) {
      var message = photoProblem(form);
      var box = form.querySelector("[data-photo-error]");
      if (message) {
        event.preventDefault();
      }
      if (box) {
        box.textContent = message;
        box.hidden = !message;
      }
    }
  });
}());

/* ---------------------------------------------------------------------------------------
   Spreadsheet exports: <a data-download data-busy="…" data-done="…" data-queued="…" data-failed="…">
   (the export_link macro of templates/_macros.html). A large register takes seconds to
   make: the link says so and ignores further clicks until the file has arrived (each click
   would be another export, audited), then hands the file to the browser as a download.
   Without fetch or object URLs it stays the plain download link it is. */
(function () {
  "use strict";

  function fileName(response, fallback) {
    var header = response.headers.get("Content-Disposition") || "";
    var encoded = /filename\*=UTF-8''([^;]+)/i.exec(header);
    if (encoded) {
      try {
        return decodeURIComponent(encoded[1]);
      } catch (error) {
        /* a malformed name: the plain one below */
      }
    }
    var plain = /filename="?([^";]+)"?/i.exec(header);
    return plain ? plain[1] : fallback;
  }

  function tell(link, text) {
    var status = link.parentNode ? link.parentNode.querySelector(".export-status") : null;
    if (status) {
      status.textContent = text || "";
    }
  }

  function save(blob, name) {
    var url = URL.createObjectURL(blob);
    var anchor = document.createElement("a");
    anchor.href = url;
    anchor.download = name;
    document.body.appendChild(anchor);
    anchor.click();
    anchor.parentNode.removeChild(anchor);
    window.setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
  }

  document.addEventListener("click", function (event) {
    var link = event.target && event.target.closest ? event.target.closest("a[data-download]") : null;
    if (!link || !window.fetch || !window.URL || !URL.createObjectURL) {
      return;
    }
    event.preventDefault();
    if (link.getAttribute("aria-busy") === "true") {
      return;  // one export at a time
    }
    link.setAttribute("aria-busy", "true");
    link.classList.add("busy");
    tell(link, link.getAttribute("data-busy"));
    fetch(link.href, {credentials: "same-origin"}).then(function (response) {
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      if (response.redirected && /^text\/html/.test(response.headers.get("Content-Type") || "")) {
        // a big export is made by a job: go to its page (the bar, then the download)
        tell(link, link.getAttribute("data-queued"));
        window.location.assign(response.url);
        return null;
      }
      return response.blob().then(function (blob) {
        save(blob, fileName(response, "export.xlsx"));
        tell(link, link.getAttribute("data-done"));
      });
    }).catch(function () {
      tell(link, link.getAttribute("data-failed"));
    }).then(function () {
      link.removeAttribute("aria-busy");
      link.classList.remove("busy");
    });
  });
}());

/* District set-up (web/district.py): the invitation sheet's print button; a long form
   (the import, the invitations) says it is working and takes one click only. */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target && event.target.closest ? event.target.closest("[data-print]") : null;
    if (button) {
      window.print();
    }
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || !form.hasAttribute || !form.hasAttribute("data-busy")) {
      return;
    }
    if (form.getAttribute("aria-busy") === "true") {
      event.preventDefault();  // already on its way
      return;
    }
    form.setAttribute("aria-busy", "true");
    var status = document.createElement("p");
    status.className = "muted";
    status.setAttribute("role", "status");
    status.textContent = form.getAttribute("data-busy");
    form.appendChild(status);
  });
}());

/* ---------------------------------------------------------------------------------------
   Long work as queued jobs (web/longwork.py, templates/jobs/_job.html). The job's panel
   polls itself every second (silent, as polling is); when the panel that comes back is
   finished (data-finished), focus moves to its download (or its error) and what it says
   is read out by #announcer, once.
   --------------------------------------------------------------------------------------- */
(function () {
  "use strict";

  document.addEventListener("htmx:afterSettle", function () {
    var panel = document.querySelector(".long-job[data-finished]:not([data-told])");
    if (!panel) {
      return;
    }
    panel.setAttribute("data-told", "yes");
    var said = panel.querySelector("[data-announce], [role=alert]");
    var region = document.getElementById("announcer");
    if (said && region) {
      region.textContent = said.textContent.replace(/\s+/g, " ").trim();
    }
    var target = panel.querySelector("[data-job-result]") || said;
    if (target) {
      if (!target.matches("a[href], button")) {
        target.setAttribute("tabindex", "-1");
      }
      target.focus();
    }
  });
}());

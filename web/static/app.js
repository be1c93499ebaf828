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

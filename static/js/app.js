/* The dashboard's few behaviours, asked for by data attributes in the templates. The
   Content-Security-Policy allows no inline handlers or scripts, so they live here. Listeners sit
   on the document (capture phase), so rows and fragments htmx swaps in later work too, and a
   refused confirmation stops the event before htmx or the browser acts on it.

     data-confirm="Question?"       on a <form>: asked before it submits;
                                    on a button or link: asked when it is clicked
     data-remove-closest="selector" on a button: removes its nearest ancestor matching selector
     data-select-on-click           on an input: selects its text when clicked (copy a key) */
(function () {
  "use strict";

  function refuse(event) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }

  document.addEventListener(
    "click",
    function (event) {
      if (!(event.target instanceof Element)) return;
      var asking = event.target.closest("button[data-confirm], input[data-confirm], a[data-confirm]");
      if (asking && !window.confirm(asking.getAttribute("data-confirm"))) {
        refuse(event);
        return;
      }
      var remover = event.target.closest("[data-remove-closest]");
      if (remover) {
        var gone = remover.closest(remover.getAttribute("data-remove-closest"));
        if (gone) gone.remove();
        return;
      }
      var selectable = event.target.closest("[data-select-on-click]");
      if (selectable && typeof selectable.select === "function") selectable.select();
    },
    true
  );

  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      if (form instanceof HTMLFormElement && form.hasAttribute("data-confirm")) {
        if (!window.confirm(form.getAttribute("data-confirm"))) refuse(event);
      }
    },
    true
  );
})();

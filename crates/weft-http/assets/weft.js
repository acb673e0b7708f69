// Progressive enhancement for Weft's pages: everything works without it, this makes it nicer.
"use strict";
document.documentElement.classList.add("js");

document.addEventListener("DOMContentLoaded", () => {
  // Selects that navigate as soon as they change (the workspace switcher, filters).
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.requestSubmit());
  }

  // Copy buttons: data-copy holds the text, or data-copy-target names the element whose text to copy.
  for (const button of document.querySelectorAll("[data-copy], [data-copy-target]")) {
    button.addEventListener("click", async (event) => {
      event.preventDefault();
      const target = button.dataset.copyTarget && document.getElementById(button.dataset.copyTarget);
      const text = target ? (target.value ?? target.textContent) : button.dataset.copy;
      try {
        await navigator.clipboard.writeText(text.trim());
        button.setAttribute("data-copied", "");
        setTimeout(() => button.removeAttribute("data-copied"), 1500);
      } catch {
        if (target && target.select) target.select();
      }
    });
  }

  // Forms that ask before doing something that cannot be undone.
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }

  // "Go back" links on error pages.
  for (const link of document.querySelectorAll("a[data-back]")) {
    if (history.length > 1) {
      link.addEventListener("click", (event) => { event.preventDefault(); history.back(); });
    }
  }

  // Live regions: the server streams rendered HTML for the element with data-live="<url>".
  for (const region of document.querySelectorAll("[data-live]")) {
    const source = new EventSource(region.dataset.live);
    source.addEventListener("html", (event) => {
      region.innerHTML = event.data;
      region.dispatchEvent(new CustomEvent("weft:updated", { bubbles: true }));
    });
    source.addEventListener("done", () => source.close());
  }

  // JSON text areas: point at a syntax error as it is typed.
  for (const area of document.querySelectorAll("textarea[data-json]")) {
    const report = document.getElementById(area.id + "-syntax");
    const check = () => {
      if (!report) return;
      if (area.value.trim() === "") { report.textContent = ""; area.removeAttribute("aria-invalid"); return; }
      try {
        JSON.parse(area.value);
        report.textContent = "";
        area.removeAttribute("aria-invalid");
      } catch (error) {
        report.textContent = "Not valid JSON yet: " + error.message;
        area.setAttribute("aria-invalid", "true");
      }
    };
    area.addEventListener("input", check);
    check();
  }
});

// Workflows and runs: forms that arrive in a live region's new HTML ask before destructive acts too.
document.addEventListener("weft:updated", (event) => {
  for (const form of event.target.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (submit) => {
      if (!window.confirm(form.dataset.confirm)) submit.preventDefault();
    });
  }
});

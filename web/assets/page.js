// Live updates for the supervisor's pages: every second the page fetches itself again and
// swaps in the new <main> and navigation, keeping what the user is doing — open
// timelines stay open, and nothing is swapped while a field in the page holds focus or
// text. Without JavaScript the pages read the same; they are only not refreshed, and
// their forms are refused (see the submit handler below).
"use strict";
(function () {
  const main = document.getElementById("live");
  if (!main) return;
  const every = Number(main.dataset.refreshMs) || 1000;

  function busy() {
    const active = document.activeElement;
    if (active && main.contains(active) && active.matches("input, textarea, select")) return true;
    return Array.from(main.querySelectorAll("input[name=reason]")).some((i) => i.value !== "");
  }

  function openDetails(root) {
    return new Set(Array.from(root.querySelectorAll("details[open][id]")).map((d) => d.id));
  }

  async function refresh() {
    if (document.visibilityState !== "visible" || busy()) return;
    let response;
    try {
      response = await fetch(window.location.href, { credentials: "same-origin", redirect: "manual" });
    } catch (e) {
      main.dataset.stale = "the supervisor does not answer";
      return;
    }
    if (response.type === "opaqueredirect" || response.status === 401) {
      main.dataset.stale = "signed out: run agentron-supervisor open";
      return;
    }
    if (!response.ok) return;
    const next = new DOMParser().parseFromString(await response.text(), "text/html");
    const nextMain = next.getElementById("live");
    if (!nextMain || busy()) return;
    const keepOpen = openDetails(main);
    delete main.dataset.stale;
    main.replaceChildren(...Array.from(nextMain.childNodes).map((n) => document.importNode(n, true)));
    keepOpen.forEach((id) => {
      const details = document.getElementById(id);
      if (details) details.open = true;
    });
    const nav = document.querySelector("header nav");
    const nextNav = next.querySelector("header nav");
    if (nav && nextNav) nav.replaceWith(document.importNode(nextNav, true));
  }

  window.setInterval(refresh, every);

  // The forms (approve, deny, sign out) are sent with fetch(): under Referrer-Policy:
  // no-referrer a browser's own form submission says "Origin: null", which the
  // supervisor refuses; fetch() sends this page's origin. Then the answer is followed:
  // a redirect is opened, a refusal replaces the page.
  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || form.method !== "post") return;
    event.preventDefault();
    const response = await fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      credentials: "same-origin",
    });
    if (response.redirected) {
      window.location.assign(response.url);
      return;
    }
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    document.title = page.title;
    document.body.replaceChildren(...Array.from(page.body.childNodes).map((n) => document.importNode(n, true)));
  });
})();

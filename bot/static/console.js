// The admin console's one script: a config textarea marked data-validate is checked as
// the admin types (POST /admin/config/validate, the CSRF token from its form), and the
// problems, with line and key, are announced in the status line beside it.
"use strict";
document.querySelectorAll("textarea[data-validate]").forEach((area) => {
  const form = area.form;
  const said = document.getElementById("checked");
  if (!form || !said || !form.elements.csrf) return;
  let timer = null;
  let asked = 0;
  const check = async () => {
    const mine = ++asked;
    let answer;
    try {
      const response = await fetch("/admin/config/validate", {
        method: "POST",
        credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRF-Token": form.elements.csrf.value},
        body: JSON.stringify({text: area.value, name: "config.yml"}),
      });
      answer = await response.json();
      if (!response.ok) answer = {valid: false, problems: [{text: answer.error || response.statusText}]};
    } catch (error) {
      answer = {valid: false, problems: [{text: "could not check: " + error}]};
    }
    if (mine !== asked) return; // an older answer
    said.className = answer.valid ? "ok" : "problem";
    said.textContent = answer.valid
      ? `Valid: ${answer.employees} employees, ${answer.rules} rules (not applied yet).`
      : answer.problems.map((p) => p.text).join("\n");
  };
  area.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(check, 600);
  });
});

// The rater page in a real browser: Debian's Chromium, headless, driven by
// playwright-core. Opens the link, switches to Spanish, fills every item,
// saves a draft (kept across a reload), screenshots the filled form, runs
// axe-core's accessibility rules on it, then submits.
//
//   node tests/browser/rater.mjs LINK SCREENSHOT.png
//
// Exits 0 when everything held; prints what failed otherwise.
import { chromium } from "playwright-core";
import axe from "axe-core";

const [link, screenshot] = process.argv.slice(2);
if (!link || !screenshot) {
  console.error("usage: node rater.mjs LINK SCREENSHOT.png");
  process.exit(2);
}
const executablePath = process.env.ENDORSE_TEST_CHROMIUM || "/usr/bin/chromium";
const fail = (message) => {
  throw new Error(message);
};

const browser = await chromium.launch({ executablePath, headless: true, args: ["--no-sandbox"] });
let page;
try {
  // A phone-sized window: the page must work there. axe is evaluated in the
  // page, which the page's own CSP (rightly) forbids; the test bypasses it.
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, bypassCSP: true });
  page = await context.newPage();
  const failedRequests = [];
  page.on("requestfailed", (request) => failedRequests.push(request.url()));
  page.on("request", (request) => {
    if (!request.url().startsWith(new URL(link).origin)) failedRequests.push(`third-party: ${request.url()}`);
  });

  const response = await page.goto(link);
  if (response.status() !== 200) fail(`GET ${link}: ${response.status()}`);
  await page.getByRole("link", { name: "Español" }).click();
  if ((await page.getAttribute("html", "lang")) !== "es") fail("the language switch did not switch");

  const items = await page.$$eval("fieldset.item input[type=radio][value=nei]", (inputs) => inputs.map((i) => i.name));
  if (items.length === 0) fail("no items on the form");
  // Labels are clickable: choose by label text, as a person does.
  for (const [index, name] of items.entries()) {
    const value = index === 0 ? "nei" : "3";
    await page.check(`input[name="${name}"][value="${value}"]`);
  }
  await page.getByLabel("La recomiendo", { exact: true }).check();
  await page.getByLabel("Comentarios (opcional)").fill("Observé su trabajo reflexivo durante dos años.");
  await page.getByLabel("Su propia Endorsement").selectOption("MENTOR_CLINICAL");

  await page.getByRole("button", { name: "Guardar borrador" }).click();
  await page.waitForSelector(".notice");
  if (!(await page.isChecked(`input[name="${items[1]}"][value="3"]`))) fail("the draft did not keep an answer");
  if ((await page.inputValue("#comments")) !== "Observé su trabajo reflexivo durante dos años.") fail("the draft lost the comments");

  await page.screenshot({ path: screenshot, fullPage: true });

  await page.evaluate(axe.source);
  const results = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  if (results.violations.length > 0) {
    const summary = results.violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
    fail(`accessibility violations:\n${summary.join("\n")}`);
  }

  await page.getByRole("button", { name: "Enviar evaluación" }).click();
  await page.waitForSelector("h1");
  const heading = await page.textContent("h1");
  if (heading.trim() !== "Gracias") fail(`after submitting: "${heading}"`);
  if (failedRequests.length > 0) fail(`requests that failed or left the server: ${failedRequests.join(", ")}`);
  console.log(JSON.stringify({ ok: true, items: items.length, axeRules: results.passes?.length ?? null, screenshot }));
} catch (error) {
  // What the browser was showing, to see why.
  const shown = page ? `${page.url()}\n${(await page.content()).slice(0, 4000)}` : "";
  console.error(`${error.stack ?? error}\n--- page ---\n${shown}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}

// Drives VS Code (code-server in headless Chromium) through the extension's user-visible flow:
// open a file, type, see the server's ghost text, accept it with Tab, run "Explain", see the document open.
//
// Usage: node ui-driver.mjs '<json options>'; prints one JSON line of results on stdout, progress on stderr.
// Run by tests/editor/test_vscode.py, which starts code-server and asserts on the results.

import { createRequire } from "node:module";
import path from "node:path";

const options = JSON.parse(process.argv[2]);
const require = createRequire(import.meta.url);
const { chromium } = require(options.playwrightCore);

const log = (message) => process.stderr.write(`[ui-driver ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const results = { steps: [] };
const step = (name) => {
  log(name);
  results.steps.push(name);
};

const browser = await chromium.launch({
  executablePath: options.chromium,
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
});
const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
const shot = async (name) => {
  const file = path.join(options.artifacts, `${name}.png`);
  await page.screenshot({ path: file });
  (results.screenshots ??= []).push(file);
  return file;
};
const lines = async () =>
  (await page.locator(".monaco-editor .view-lines").first().innerText()).replace(/\u00a0/g, " ");
const runCommand = async (title) => {
  await page.keyboard.press("F1");
  const input = page.locator(".quick-input-widget input");
  await input.waitFor({ state: "visible" });
  await input.fill(`>${title}`);
  await page.locator(".quick-input-list .monaco-list-row", { hasText: title }).first().waitFor();
  await page.keyboard.press("Enter");
};

try {
  step("open workbench");
  await page.goto(options.url);
  await page.locator(".monaco-workbench").waitFor({ timeout: 60_000 });
  await page.locator(".explorer-folders-view, .monaco-workbench .part.sidebar").first().waitFor({ timeout: 60_000 });

  step(`open ${options.fileName}`);
  await page.keyboard.press("Control+P");
  await page.locator(".quick-input-widget input").waitFor({ state: "visible" });
  await page.keyboard.type(options.fileName);
  await page.locator(".quick-input-list .monaco-list-row", { hasText: options.fileName }).first().waitFor();
  await page.keyboard.press("Enter");
  await page.locator(`.tab[aria-label*="${options.fileName}"]`).first().waitFor();

  // VS Code only asks providers that are registered when the text changes: wait for the client first.
  step("wait for the server to be ready");
  const ready = page.locator('[aria-label^="Qwen LSP: ready"]').first();
  await ready.waitFor({ state: "attached", timeout: options.readyTimeoutMs });
  results.statusReady = await ready.getAttribute("aria-label");

  step(`type ${JSON.stringify(options.typeText)}`);
  await page.locator(".monaco-editor .view-lines").first().click();
  await page.keyboard.press("Control+End");
  await page.keyboard.type(options.typeText, { delay: 40 });

  step("wait for ghost text");
  const ghost = page.locator(".monaco-editor .ghost-text-decoration, .monaco-editor .ghost-text-decoration-preview");
  await ghost.first().waitFor({ timeout: options.ghostTimeoutMs });
  results.ghostText = (await ghost.allInnerTexts()).join("").replace(/\u00a0/g, " ");
  results.linesBeforeTab = await lines();
  await shot("1-ghost-text");

  step("accept with Tab");
  await page.keyboard.press("Tab");
  await ghost.first().waitFor({ state: "detached", timeout: 10_000 });
  results.linesAfterTab = await lines();
  // Saved, so the test can compare the file on disk with what the ghost text showed.
  await page.keyboard.press("Control+S");
  await page.locator(".tabs-container .tab.dirty").first().waitFor({ state: "detached", timeout: 10_000 });
  await shot("2-accepted");

  if (options.explain) {
    step(`explain the definition on line ${options.explainLine + 1}`);
    await page.keyboard.press("Control+Home");
    for (let line = 0; line < options.explainLine; line++) {
      await page.keyboard.press("ArrowDown");
    }
    await page.keyboard.press("End");
    await runCommand("Qwen LSP: Explain Symbol at Cursor");
    const markdownTab = page.locator('.tabs-container .tab[aria-label*=".md"]').first();
    await markdownTab.waitFor({ timeout: options.explainTimeoutMs });
    results.explainTab = await markdownTab.getAttribute("aria-label");
    await page.waitForTimeout(500);
    results.explainText = (await page.locator(".editor-group-container.active .monaco-editor .view-lines").allInnerTexts()).join("\n").replace(/\u00a0/g, " ");
    await shot("3-explain");
  }
  step("toggle inline completions off and on");
  await runCommand("Qwen LSP: Toggle Inline Completions");
  const off = page.locator('[aria-label^="Qwen LSP: inline completions are off"]').first();
  await off.waitFor({ state: "attached", timeout: 15_000 });
  results.toggledOff = await off.getAttribute("aria-label");
  await runCommand("Qwen LSP: Toggle Inline Completions");
  await ready.waitFor({ state: "attached", timeout: 15_000 });

  step("restart the server, then show the log");
  await runCommand("Qwen LSP: Restart Server");
  await runCommand("Qwen LSP: Show Log");
  const panel = page.locator(".part.panel");
  const deadline = Date.now() + options.readyTimeoutMs;
  for (;;) {
    const text = (await panel.innerText().catch(() => "")).replace(/\u00a0/g, " ");
    results.serverStartsInLog = (text.match(/starting: /g) ?? []).length;
    if ((results.serverStartsInLog >= 2 && (await ready.count()) > 0) || Date.now() > deadline) {
      break;
    }
    await page.waitForTimeout(500);
  }
  results.readyAfterRestart = (await ready.count()) > 0;
  await shot("4-log-after-restart");
  results.ok = true;
} catch (error) {
  results.ok = false;
  results.error = String(error?.stack ?? error);
  try {
    results.statusBar = await page.locator(".statusbar").innerText();
    results.linesAtFailure = await lines().catch(() => null);
    await shot("failure");
  } catch (inner) {
    results.screenshotError = String(inner);
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(results) + "\n");

// Drives VS Code (code-server in headless Chromium) through the extension's user-visible flow, one scenario
// a run (options.scenario):
//   default:  open a file, type, see the server's ghost text, accept it with Tab, run "Explain", see the
//             document open, toggle completions, restart the server;
//   nextEdit: rename a parameter by typing, see the next-edit suggestion (decorations), Tab to go to it,
//             Tab to apply it, Escape to dismiss the next one.
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
/** The editor's lines in document order, blank ones included (the file is short: every line is rendered). */
const editorLines = () =>
  page.evaluate(() =>
    [...(document.querySelector(".monaco-editor .view-lines")?.querySelectorAll(".view-line") ?? [])]
      .map((row) => ({ top: parseFloat(row.style.top), text: row.textContent.replace(/\u00a0/g, " ") }))
      .sort((a, b) => a.top - b.top)
      .map((row) => row.text),
  );
const ready = page.locator('[aria-label^="Qwen LSP: ready"]').first();
const runCommand = async (title) => {
  await page.keyboard.press("F1");
  const input = page.locator(".quick-input-widget input");
  await input.waitFor({ state: "visible" });
  await input.fill(`>${title}`);
  await page.locator(".quick-input-list .monaco-list-row", { hasText: title }).first().waitFor();
  await page.keyboard.press("Enter");
};

/** Type, see ghost text, accept it with Tab; Explain; toggle completions; restart the server. */
async function ghostTextScenario() {
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
}

// --- next-edit suggestions -------------------------------------------------------------------------

/** What the next-edit decorations show: the after-content (new text) and the struck-through text. */
const nextEditDecorations = () =>
  page.evaluate(() => {
    const root = document.querySelector(".monaco-editor .view-lines");
    const shown = { after: [], struck: [] };
    for (const element of root ? root.querySelectorAll("span") : []) {
      const content = getComputedStyle(element, "::after").content;
      if (content && content !== "none" && content !== "normal") {
        shown.after.push(content.replace(/^"|"$/g, "").replace(/\\"/g, '"'));
      }
      const decoration = getComputedStyle(element).textDecorationLine;
      if (decoration.includes("line-through") && element.children.length === 0) {
        shown.struck.push(element.textContent.replace(/\u00a0/g, " "));
      }
    }
    return shown;
  });

/** Poll until `predicate(decorations)` holds; the decorations then, or null after `timeoutMs`. */
const waitForDecorations = async (predicate, timeoutMs) => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const shown = await nextEditDecorations();
    if (predicate(shown)) {
      return shown;
    }
    if (Date.now() > deadline) {
      return null;
    }
    await page.waitForTimeout(250);
  }
};

/** The cursor as the status bar says it ("Ln 5, Col 12"), 1-based. */
const cursor = async () => {
  const text = await page.locator('[id="status.editor.selection"]').first().innerText();
  const match = /Ln (\d+), Col (\d+)/.exec(text);
  return match ? { line: Number(match[1]), column: Number(match[2]) } : null;
};

const waitForCursorChange = async (from, timeoutMs) => {
  const deadline = Date.now() + timeoutMs;
  let now = await cursor();
  while (JSON.stringify(now) === JSON.stringify(from) && Date.now() < deadline) {
    await page.waitForTimeout(100);
    now = await cursor();
  }
  return now;
};

/** Rename a parameter by typing, see the suggested edit, go to it and apply it with Tab; dismiss one with Escape. */
async function nextEditScenario() {
  const { line, fromEnd, oldName, newName } = options.rename;
  step(`rename ${oldName} to ${newName} on line ${line + 1} by typing`);
  await page.locator(".monaco-editor .view-lines").first().click();
  await page.keyboard.press("Control+Home");
  for (let row = 0; row < line; row++) {
    await page.keyboard.press("ArrowDown");
  }
  await page.keyboard.press("End");
  for (let column = 0; column < fromEnd; column++) {
    await page.keyboard.press("ArrowLeft");
  }
  for (let column = 0; column < oldName.length; column++) {
    await page.keyboard.press("Backspace");
  }
  await page.keyboard.type(newName, { delay: 60 });
  const typedAt = Date.now();
  results.cursorAfterRename = await cursor();

  step(`wait for a next-edit suggestion showing ${newName}`);
  const ghost = page.locator(".monaco-editor .ghost-text-decoration, .monaco-editor .ghost-text-decoration-preview");
  const deadline = typedAt + options.nextEditTimeoutMs;
  let shown = null;
  while (Date.now() < deadline) {
    shown = await waitForDecorations((seen) => seen.after.some((text) => text.includes(newName)), 500);
    // The server may also offer the edit as an inline completion that replaces text (ghost text).
    if ((await ghost.count()) > 0) {
      results.replacementGhostText ??= (await ghost.allInnerTexts()).join("").replace(/\u00a0/g, " ");
    }
    if (shown !== null) {
      break;
    }
  }
  if (shown === null) {
    throw new Error(`no next-edit suggestion showing ${newName} within ${options.nextEditTimeoutMs} ms`);
  }
  results.nextEditMs = Date.now() - typedAt;
  results.suggested = shown;
  results.linesBeforeTab = await editorLines();
  results.inlineSuggestionShownAtTab = (await ghost.count()) > 0;
  await shot("1-next-edit-shown");

  step("Tab: go to the suggested edit");
  const before = await cursor();
  await page.keyboard.press("Tab");
  results.cursorBeforeFirstTab = before;
  results.cursorAfterFirstTab = await waitForCursorChange(before, 5_000);
  results.linesAfterFirstTab = await editorLines();
  await shot("2-next-edit-jumped");

  step("Tab: apply it");
  await page.keyboard.press("Tab");
  const applied = Date.now() + 10_000;
  let text = await editorLines();
  while (JSON.stringify(text) === JSON.stringify(results.linesAfterFirstTab) && Date.now() < applied) {
    await page.waitForTimeout(100);
    text = await editorLines();
  }
  results.linesAfterSecondTab = text;
  // The extension moves the cursor after the edit is in, and the status bar shows it a moment later.
  results.cursorAfterSecondTab = await waitForCursorChange(results.cursorAfterFirstTab, 5_000);
  await page.waitForTimeout(300);
  results.decorationsAfterAccept = await nextEditDecorations();
  await shot("3-next-edit-applied");

  step("wait for another suggestion, then dismiss it with Escape");
  shown = await waitForDecorations((seen) => seen.after.length > 0 || seen.struck.length > 0, options.nextEditTimeoutMs);
  if (shown === null) {
    throw new Error(`no further next-edit suggestion within ${options.nextEditTimeoutMs} ms`);
  }
  results.suggestedBeforeEscape = shown;
  results.linesBeforeEscape = await editorLines();
  await shot("4-next-edit-before-escape");
  await page.keyboard.press("Escape");
  results.decorationsAfterEscape = await waitForDecorations(
    (seen) => seen.after.length === 0 && seen.struck.length === 0,
    5_000,
  );
  results.linesAfterEscape = await editorLines();
  await page.keyboard.press("Control+S");
  await page.locator(".tabs-container .tab.dirty").first().waitFor({ state: "detached", timeout: 10_000 });
  await shot("5-next-edit-dismissed");
}

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
  await ready.waitFor({ state: "attached", timeout: options.readyTimeoutMs });
  results.statusReady = await ready.getAttribute("aria-label");

  if (options.scenario === "nextEdit") {
    await nextEditScenario();
  } else {
    await ghostTextScenario();
  }
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

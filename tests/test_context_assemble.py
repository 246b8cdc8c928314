"""File context assembly: statement-bounded windows, the outline in front of them, and token budgets.

Every language gets a realistic file (imports, a type, several functions) with a cursor deep inside a
method or function; the checks are the same for all of them.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest
import tree_sitter

from lsp_server.context import assemble as assemble_module
from lsp_server.context.assemble import ContextBudget, FileContext, assemble_file_context
from lsp_server.context.languages import parse
from tests.helpers import C_RING_PUSH_POP, C_RING_TYPE, count_words, split_cursor

SAMPLES: dict[str, str] = {}
SAMPLES["python"] = '''"""Inventory service: stock levels, reservations and reports."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from .pricing import apply_discount, round_price

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 100


def parse_sku(raw: str) -> tuple[str, int]:
    """Split a SKU like 'ABC-42' into its prefix and number.

    The number part must be all digits.
    """
    prefix, _, number = raw.partition("-")
    if not number.isdigit():
        raise ValueError(f"bad SKU: {raw!r}")
    return prefix.upper(), int(number)


@dataclass
class Item:
    sku: str
    name: str
    price: float
    quantity: int = 0
    tags: list[str] = field(default_factory=list)

    def total_value(self) -> float:
        return self.price * self.quantity


class Inventory:
    """Holds items by SKU and tracks reservations."""

    def __init__(self, path: Path, limit: int = DEFAULT_LIMIT) -> None:
        self.path = path
        self.limit = limit
        self.items: dict[str, Item] = {}
        self.reserved: dict[str, int] = {}

    def load(self) -> None:
        """Read the items from the JSON file."""
        data = json.loads(self.path.read_text())
        for entry in data["items"]:
            item = Item(**entry)
            self.items[item.sku] = item
        log.info("loaded %d items", len(self.items))

    def save(self) -> None:
        payload = {"items": [vars(item) for item in self.items.values()]}
        self.path.write_text(json.dumps(payload, indent=2))

    def available(self, sku: str) -> int:
        """Units of ``sku`` not reserved yet."""
        item = self.items.get(sku)
        if item is None:
            return 0
        return item.quantity - self.reserved.get(sku, 0)

    def reserve(self, sku: str, count: int) -> bool:
        """Reserve ``count`` units of ``sku``; False when not enough are left."""
        prefix, number = parse_sku(sku)
        if number <= 0 or not prefix:
            return False
        if self.available(sku) < count:
            log.warning("not enough %s", sku)
            return False
        self.reserved[sku] = self.reserved.get(sku, 0) + count
        return True

    def release(self, sku: str, count: int) -> None:
        current = self.reserved.get(sku, 0)
        self.reserved[sku] = max(0, current - count)

    def restock(self, sku: str, count: int) -> Item:
        item = self.items[sku]
        item.quantity += count
        if item.quantity > self.limit:
            log.warning("%s over limit", sku)
        return item

    def report(self, currency: str = "EUR") -> list[str]:
        """One line per item: name, available units and value."""
        lines = []
        for sku in sorted(self.items):
            item = self.items[sku]
            units = self.available(sku)
            price = round_price(apply_discount(item.price, item.tags))
            value = price * units
            lines.append(f"{item.name}: {units} units, {value:.2f} {currency}")
            <|>
        lines.append(format_total(self.items.values(), currency))
        return lines


def format_total(items, currency: str) -> str:
    """Sum of all item values, formatted."""
    total = sum(item.total_value() for item in items)
    return f"total: {total:.2f} {currency}"


def main() -> None:
    inventory = Inventory(Path("inventory.json"))
    inventory.load()
    for line in inventory.report():
        print(line)


if __name__ == "__main__":
    main()
'''

SAMPLES["javascript"] = """import fs from "node:fs";
import path from "node:path";
import { EventEmitter } from "node:events";
import { formatBytes, slugify } from "./util.js";

const DEFAULT_OPTIONS = {
  retries: 3,
  timeoutMs: 5000,
};

/** Parse a "key=value" line into a pair. */
export function parseLine(line) {
  const index = line.indexOf("=");
  if (index < 0) {
    return null;
  }
  return [line.slice(0, index).trim(), line.slice(index + 1).trim()];
}

export class Catalog extends EventEmitter {
  constructor(root, options = {}) {
    super();
    this.root = root;
    this.options = { ...DEFAULT_OPTIONS, ...options };
    this.entries = new Map();
  }

  load() {
    const file = path.join(this.root, "catalog.txt");
    const text = fs.readFileSync(file, "utf8");
    for (const line of text.split("\\n")) {
      const pair = parseLine(line);
      if (pair) {
        this.entries.set(pair[0], pair[1]);
      }
    }
    this.emit("loaded", this.entries.size);
  }

  get(key) {
    return this.entries.get(key);
  }

  sizeOf(key) {
    const value = this.entries.get(key) ?? "";
    return Buffer.byteLength(value, "utf8");
  }

  remove(key) {
    const existed = this.entries.delete(key);
    if (existed) {
      this.emit("removed", key);
    }
    return existed;
  }

  summary() {
    const lines = [];
    for (const [key, value] of this.entries) {
      const slug = slugify(key);
      const size = formatBytes(this.sizeOf(key));
      lines.push(`${slug}: ${size} (${value.length} chars)`);
      <|>
    }
    lines.push(totalLine(this.entries));
    return lines.join("\\n");
  }
}

function totalLine(entries) {
  let total = 0;
  for (const value of entries.values()) {
    total += value.length;
  }
  return `total: ${formatBytes(total)}`;
}

export default Catalog;
"""

SAMPLES["typescript"] = """import { readFile } from "node:fs/promises";
import type { Logger } from "./logger";
import { clamp, median } from "./math";

export interface Sample {
  name: string;
  values: number[];
  unit?: string;
}

export type Summary = {
  name: string;
  median: number;
  spread: number;
};

const MAX_VALUES = 10_000;

export function normalize(values: number[], lo: number, hi: number): number[] {
  return values.map((value) => clamp(value, lo, hi));
}

export class SampleStore {
  private readonly samples = new Map<string, Sample>();

  constructor(private readonly logger: Logger) {}

  async loadFile(path: string): Promise<number> {
    const text = await readFile(path, "utf8");
    const parsed = JSON.parse(text) as Sample[];
    for (const sample of parsed) {
      this.add(sample);
    }
    this.logger.info(`loaded ${parsed.length} samples`);
    return parsed.length;
  }

  add(sample: Sample): void {
    if (sample.values.length > MAX_VALUES) {
      throw new Error(`too many values in ${sample.name}`);
    }
    this.samples.set(sample.name, sample);
  }

  get(name: string): Sample | undefined {
    return this.samples.get(name);
  }

  spreadOf(sample: Sample): number {
    const sorted = [...sample.values].sort((a, b) => a - b);
    return sorted[sorted.length - 1] - sorted[0];
  }

  summarize(lo: number, hi: number): Summary[] {
    const result: Summary[] = [];
    for (const sample of this.samples.values()) {
      const values = normalize(sample.values, lo, hi);
      const summary: Summary = {
        name: sample.name,
        median: median(values),
        spread: this.spreadOf(sample),
      };
      <|>
      result.push(summary);
    }
    return sortSummaries(result);
  }
}

function sortSummaries(summaries: Summary[]): Summary[] {
  return [...summaries].sort((a, b) => a.median - b.median);
}
"""

SAMPLES["tsx"] = """import React, { useEffect, useMemo, useState } from "react";
import { fetchTodos, type Todo } from "./api";
import { Checkbox } from "./Checkbox";

interface TodoListProps {
  userId: string;
  filter?: "all" | "open" | "done";
}

function matchesFilter(todo: Todo, filter: TodoListProps["filter"]): boolean {
  if (filter === "open") {
    return !todo.done;
  }
  if (filter === "done") {
    return todo.done;
  }
  return true;
}

export function TodoList({ userId, filter = "all" }: TodoListProps): JSX.Element {
  const [todos, setTodos] = useState<Todo[]>([]);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let cancelled = false;
    fetchTodos(userId)
      .then((items) => {
        if (!cancelled) {
          setTodos(items);
        }
      })
      .catch((err: Error) => setError(err.message));
    return () => {
      cancelled = true;
    };
  }, [userId]);

  const visible = useMemo(() => todos.filter((todo) => matchesFilter(todo, filter)), [todos, filter]);

  const toggle = (id: string) => {
    setTodos((items) => items.map((item) => (item.id === id ? { ...item, done: !item.done } : item)));
  };

  if (error) {
    return <p className="error">{error}</p>;
  }
  <|>
  return (
    <ul className="todo-list">
      {visible.map((todo) => (
        <li key={todo.id}>
          <Checkbox checked={todo.done} onChange={() => toggle(todo.id)} />
          {todo.title}
        </li>
      ))}
      <li className="footer">{countLabel(visible.length)}</li>
    </ul>
  );
}

function countLabel(count: number): string {
  return count === 1 ? "1 item" : `${count} items`;
}
"""

SAMPLES["go"] = """package inventory

import (
\t"errors"
\t"fmt"
\t"sort"
\t"strings"
)

// ErrNotFound is returned when a key is missing.
var ErrNotFound = errors.New("not found")

// Entry is one stored value with its hit count.
type Entry struct {
\tKey   string
\tValue string
\tHits  int
}

// Store keeps entries in memory.
type Store struct {
\tentries map[string]*Entry
\tlimit   int
}

// NewStore returns an empty store that holds at most limit entries.
func NewStore(limit int) *Store {
\treturn &Store{entries: make(map[string]*Entry), limit: limit}
}

func normalizeKey(key string) string {
\treturn strings.ToLower(strings.TrimSpace(key))
}

// Put stores value under key.
func (s *Store) Put(key, value string) error {
\tkey = normalizeKey(key)
\tif len(s.entries) >= s.limit {
\t\treturn fmt.Errorf("store full (%d entries)", s.limit)
\t}
\ts.entries[key] = &Entry{Key: key, Value: value}
\treturn nil
}

// Get returns the value under key.
func (s *Store) Get(key string) (string, error) {
\tentry, ok := s.entries[normalizeKey(key)]
\tif !ok {
\t\treturn "", ErrNotFound
\t}
\tentry.Hits++
\treturn entry.Value, nil
}

func (s *Store) Delete(key string) bool {
\tkey = normalizeKey(key)
\tif _, ok := s.entries[key]; !ok {
\t\treturn false
\t}
\tdelete(s.entries, key)
\treturn true
}

// Report lists the entries, most used first.
func (s *Store) Report(prefix string) []string {
\tsorted := make([]*Entry, 0, len(s.entries))
\tfor _, entry := range s.entries {
\t\tsorted = append(sorted, entry)
\t}
\tsort.Slice(sorted, func(i, j int) bool { return sorted[i].Hits > sorted[j].Hits })
\tlines := make([]string, 0, len(sorted))
\tfor _, entry := range sorted {
\t\tif !strings.HasPrefix(entry.Key, normalizeKey(prefix)) {
\t\t\tcontinue
\t\t}
\t\t<|>
\t\tlines = append(lines, formatEntry(entry))
\t}
\treturn lines
}

func formatEntry(entry *Entry) string {
\treturn fmt.Sprintf("%s=%s (%d hits)", entry.Key, entry.Value, entry.Hits)
}
"""

SAMPLES["rust"] = """use std::collections::HashMap;
use std::fmt;
use std::io::{self, BufRead};

/// A parsed log line.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub level: Level,
    pub message: String,
    pub count: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    Info,
    Warn,
    Error,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        };
        write!(f, "{}", name)
    }
}

/// The level named by a word such as `warn`.
fn parse_level(word: &str) -> Option<Level> {
    match word.to_ascii_lowercase().as_str() {
        "info" => Some(Level::Info),
        "warn" | "warning" => Some(Level::Warn),
        "error" => Some(Level::Error),
        _ => None,
    }
}

pub struct Collector {
    records: HashMap<String, Record>,
    max_len: usize,
}

impl Collector {
    pub fn new(max_len: usize) -> Self {
        Collector { records: HashMap::new(), max_len }
    }

    fn truncate(&self, message: &str) -> String {
        message.chars().take(self.max_len).collect()
    }

    pub fn add_line(&mut self, line: &str) -> bool {
        let mut parts = line.splitn(2, ' ');
        let level = match parts.next().and_then(parse_level) {
            Some(level) => level,
            None => return false,
        };
        let message = self.truncate(parts.next().unwrap_or("").trim());
        let record = self.records.entry(message.clone()).or_insert(Record { level, message, count: 0 });
        record.count += 1;
        true
    }

    pub fn read_all<R: BufRead>(&mut self, reader: R) -> io::Result<usize> {
        let mut added = 0;
        for line in reader.lines() {
            let line = line?;
            if self.add_line(&line) {
                added += 1;
            }
            <|>
        }
        Ok(summarize_count(added, self.records.len()))
    }
}

fn summarize_count(added: usize, distinct: usize) -> usize {
    if distinct == 0 {
        return 0;
    }
    added / distinct
}
"""

SAMPLES["c"] = (
    """#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ring.h"

#define RING_MIN 4

"""
    + C_RING_TYPE
    + """
struct ring *ring_new(size_t capacity) {
    if (capacity < RING_MIN) {
        capacity = RING_MIN;
    }
    struct ring *r = malloc(sizeof *r);
    if (r == NULL) {
        return NULL;
    }
    r->data = calloc(capacity, sizeof *r->data);
    r->head = 0;
    r->tail = 0;
    r->capacity = capacity;
    return r;
}

void ring_free(struct ring *r) {
    if (r != NULL) {
        free(r->data);
        free(r);
    }
}

"""
    + C_RING_PUSH_POP
    + """
size_t ring_count(const struct ring *r) {
    if (r->tail >= r->head) {
        return r->tail - r->head;
    }
    return r->capacity - r->head + r->tail;
}

void ring_dump(const struct ring *r, FILE *out) {
    size_t index = r->head;
    fprintf(out, "ring of %zu:", ring_count(r));
    while (index != r->tail) {
        fprintf(out, " %d", r->data[index]);
        index = next_index(r, index);
        <|>
    }
    print_footer(out, r->capacity);
}

static void print_footer(FILE *out, size_t capacity) {
    fprintf(out, "\\n(capacity %zu)\\n", capacity);
}
"""
)

SAMPLES["cpp"] = """#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "scores.h"

namespace game {

struct Score {
    std::string player;
    int points = 0;
    int rounds = 0;
};

static double average(const Score& score) {
    if (score.rounds == 0) {
        return 0.0;
    }
    return static_cast<double>(score.points) / score.rounds;
}

bool byAverage(const Score& a, const Score& b);

class Leaderboard {
public:
    explicit Leaderboard(std::size_t size) : size_(size) {}

    void record(const std::string& player, int points) {
        Score& score = scores_[player];
        score.player = player;
        score.points += points;
        score.rounds += 1;
    }

    bool has(const std::string& player) const {
        return scores_.count(player) > 0;
    }

    int pointsOf(const std::string& player) const {
        auto it = scores_.find(player);
        return it == scores_.end() ? 0 : it->second.points;
    }

    std::vector<Score> top() const {
        std::vector<Score> result;
        for (const auto& [name, score] : scores_) {
            if (score.rounds == 0 || !has(name)) {
                continue;
            }
            result.push_back(score);
            <|>
        }
        std::sort(result.begin(), result.end(), byAverage);
        if (result.size() > size_) {
            result.resize(size_);
        }
        return result;
    }

private:
    std::size_t size_;
    std::map<std::string, Score> scores_;
};

bool byAverage(const Score& a, const Score& b) {
    return average(a) > average(b);
}

}  // namespace game
"""

SAMPLES["java"] = """package com.example.orders;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Keeps orders and computes totals. */
public class OrderBook {
    private final Map<String, List<Order>> byCustomer = new HashMap<>();
    private final BigDecimal taxRate;

    public record Order(String id, String customer, BigDecimal amount) {}

    public OrderBook(BigDecimal taxRate) {
        this.taxRate = taxRate;
    }

    public void add(Order order) {
        byCustomer.computeIfAbsent(order.customer(), key -> new ArrayList<>()).add(order);
    }

    public List<Order> ordersOf(String customer) {
        return byCustomer.getOrDefault(customer, List.of());
    }

    /** The amount plus tax. */
    private BigDecimal withTax(BigDecimal amount) {
        return amount.add(amount.multiply(taxRate));
    }

    public boolean remove(String customer, String id) {
        List<Order> orders = byCustomer.get(customer);
        if (orders == null) {
            return false;
        }
        return orders.removeIf(order -> order.id().equals(id));
    }

    public BigDecimal totalFor(String customer) {
        BigDecimal total = BigDecimal.ZERO;
        for (Order order : ordersOf(customer)) {
            if (order.amount().signum() < 0) {
                continue;
            }
            total = total.add(withTax(order.amount()));
            <|>
        }
        return roundTotal(total);
    }

    public int customerCount() {
        return byCustomer.size();
    }

    private static BigDecimal roundTotal(BigDecimal total) {
        return total.setScale(2, java.math.RoundingMode.HALF_UP);
    }
}
"""

SAMPLES["lua"] = """local json = require("json")
local util = require("app.util")

local M = {}

local DEFAULT_TTL = 60

local function now()
  return os.time()
end

--- True when the entry's time is up.
local function is_expired(entry, at)
  return entry.expires ~= nil and entry.expires <= at
end

function M.new(ttl)
  local cache = {
    ttl = ttl or DEFAULT_TTL,
    entries = {},
    hits = 0,
  }
  return setmetatable(cache, { __index = M })
end

function M:set(key, value)
  self.entries[key] = { value = value, expires = now() + self.ttl }
end

function M:get(key)
  local entry = self.entries[key]
  if entry == nil or is_expired(entry, now()) then
    return nil
  end
  self.hits = self.hits + 1
  return entry.value
end

function M:purge()
  local at = now()
  local removed = 0
  for key, entry in pairs(self.entries) do
    if is_expired(entry, at) then
      self.entries[key] = nil
      removed = removed + 1
    end
  end
  return removed
end

function M:dump(path)
  local out = {}
  for key, entry in pairs(self.entries) do
    if not is_expired(entry, now()) then
      out[key] = util.copy(entry.value)
    end
    <|>
  end
  local file = assert(io.open(path, "w"))
  file:write(json.encode(out))
  file:close()
  return count_keys(out)
end

function count_keys(tbl)
  local n = 0
  for _ in pairs(tbl) do
    n = n + 1
  end
  return n
end

return M
"""

# Per language: an import above the window, the enclosing headers (outermost first) and the signature of
# a definition the code near the cursor uses, defined outside both windows.
EXPECTED: dict[str, tuple[str, list[str], str]] = {
    "python": (
        "from .pricing import apply_discount, round_price",
        ["class Inventory:", '    def report(self, currency: str = "EUR") -> list[str]:'],
        "def format_total(items, currency: str) -> str:\n"
        '    """Sum of all item values, formatted."""\n'
        "    ...\n",
    ),
    "javascript": (
        'import { formatBytes, slugify } from "./util.js";',
        ["export class Catalog extends EventEmitter {", "  summary() {"],
        "function totalLine(entries) { ... }\n",
    ),
    "typescript": (
        'import { clamp, median } from "./math";',
        ["export class SampleStore {", "  summarize(lo: number, hi: number): Summary[] {"],
        "function sortSummaries(summaries: Summary[]): Summary[] { ... }\n",
    ),
    "tsx": (
        'import { fetchTodos, type Todo } from "./api";',
        ['export function TodoList({ userId, filter = "all" }: TodoListProps): JSX.Element {'],
        "function countLabel(count: number): string { ... }\n",
    ),
    "go": (
        '\t"strings"',
        ["func (s *Store) Report(prefix string) []string {"],
        "func formatEntry(entry *Entry) string { ... }\n",
    ),
    "rust": (
        "use std::io::{self, BufRead};",
        ["impl Collector {", "    pub fn read_all<R: BufRead>(&mut self, reader: R) -> io::Result<usize> {"],
        "fn summarize_count(added: usize, distinct: usize) -> usize { ... }\n",
    ),
    "c": (
        '#include "ring.h"',
        ["void ring_dump(const struct ring *r, FILE *out) {"],
        "static void print_footer(FILE *out, size_t capacity);\n",
    ),
    "cpp": (
        '#include "scores.h"',
        ["namespace game {", "class Leaderboard {", "    std::vector<Score> top() const {"],
        "bool byAverage(const Score& a, const Score& b);\n",
    ),
    "java": (
        "import java.math.BigDecimal;",
        ["public class OrderBook {", "    public BigDecimal totalFor(String customer) {"],
        "    private static BigDecimal roundTotal(BigDecimal total) { ... }\n",
    ),
    "lua": (
        'local util = require("app.util")',
        ["function M:dump(path)"],
        "function count_keys(tbl)\n  -- ...\nend\n",
    ),
}
MARKERS = {"python": "#", "lua": "--"}
SMALL = ContextBudget(prefix_tokens=60, suffix_tokens=40, outline_tokens=400)


def assemble(
    language: str | None, source: str, budget: ContextBudget, count=count_words
) -> tuple[str, int, FileContext]:
    text, cursor = split_cursor(source)
    tree = parse(language, text) if language is not None else None
    return text, cursor, assemble_file_context(text, tree, language, cursor, count, budget)


def piece(context: FileContext, name: str) -> str:
    return next((p.text for p in context.pieces if p.name == name), "")


def effective_cursor(text: str, cursor: int) -> tuple[int, int]:
    """The cursor point; on a blank line, the end of the last code above (where its blocks end)."""
    before = text[:cursor]
    line_start = before.rfind("\n") + 1
    if before[line_start:].strip():
        return before.count("\n"), len(before[line_start:].encode("utf-8"))
    code = before.rstrip()
    row = code.count("\n")
    return row, len(code[code.rfind("\n") + 1 :].encode("utf-8"))


def named_nodes(node: tree_sitter.Node) -> list[tree_sitter.Node]:
    found = []
    stack = [node]
    while stack:
        current = stack.pop()
        if current.is_named:
            found.append(current)
        stack.extend(current.children)
    return found


def last_row(node: tree_sitter.Node) -> int:
    row, column = node.end_point
    return row - 1 if column == 0 and row > node.start_point.row else row


def assert_statement_bounded(text: str, cursor: int, tree: tree_sitter.Tree, context: FileContext) -> None:
    """No node is cut by either window edge, except the nodes the cursor itself is inside."""
    start, end = context.window_start_line, context.window_end_line
    reach = effective_cursor(text, cursor)
    lines = text.split("\n")
    for node in named_nodes(tree.root_node):
        first, last = node.start_point.row, last_row(node)
        if first < start <= last:
            assert tuple(node.end_point) >= reach, (
                f"window start {start} cuts {node.type} at rows {first}-{last}"
            )
        if first <= end < last:
            assert tuple(node.start_point) <= reach, (
                f"window end {end} cuts {node.type} at rows {first}-{last}"
            )
    # The first line of the window is a whole line that begins a statement (or a comment).
    first_line = lines[start]
    column = len(first_line) - len(first_line.lstrip())
    starts = {tuple(node.start_point) for node in named_nodes(tree.root_node)}
    assert start == text[:cursor].count("\n") or (start, column) in starts


@pytest.mark.parametrize("language", sorted(SAMPLES))
def test_sample_parses_without_errors(language: str) -> None:
    text, _ = split_cursor(SAMPLES[language])
    assert not parse(language, text).root_node.has_error
    assert 60 <= text.count("\n") <= 150


@pytest.mark.parametrize("language", sorted(SAMPLES))
def test_small_window_gets_imports_headers_and_signatures(language: str) -> None:
    text, cursor, context = assemble(language, SAMPLES[language], SMALL)
    tree = parse(language, text)
    line_start = text.rfind("\n", 0, cursor) + 1
    window = piece(context, "prefix")
    # The prefix ends exactly at the cursor, with the window made of whole lines up to it.
    assert context.prefix.endswith(text[line_start:cursor])
    assert context.prefix.endswith(window)
    assert text[:cursor].endswith(window)
    window_offset = cursor - len(window)
    assert window_offset == 0 or text[window_offset - 1] == "\n"
    assert window_offset == len(
        "".join(line + "\n" for line in text.split("\n")[: context.window_start_line])
    )
    assert context.window_start_line > 0
    # The suffix is the text after the cursor up to the end of a line.
    assert text[cursor:].startswith(context.suffix)
    assert context.suffix.endswith("\n")
    assert_statement_bounded(text, cursor, tree, context)
    # The outline in front of the window: imports, then signatures, then the enclosing headers.
    outline = context.prefix[: len(context.prefix) - len(window)]
    import_line, headers, signature = EXPECTED[language]
    outline_lines = outline.split("\n")
    assert import_line in outline_lines
    assert signature in outline
    positions = [outline_lines.index(header) for header in headers]
    assert positions == sorted(positions)
    assert outline.index(import_line) < outline.index(signature)
    # Every outline line is a line of the file, an elision line, or part of a signature.
    file_lines = set(text.split("\n"))
    marker = MARKERS.get(language, "//")
    for line in outline.rstrip("\n").split("\n"):
        prototype = line.endswith(";") and line[:-1] + " {" in file_lines
        elision = line.strip() == f"{marker} ..."
        synthetic = "..." in line or line.strip() in ("end", '"""Sum of all item values, formatted."""')
        assert line in file_lines or prototype or elision or synthetic, line
    # No two elision lines in a row, and none at the very top.
    stripped = [line.strip() for line in outline.split("\n")]
    assert stripped[0] != f"{marker} ..."
    assert all(not (a == b == f"{marker} ...") for a, b in itertools.pairwise(stripped))
    # Budgets: each part within its own, and the reported counts are (upper bounds of) the real ones.
    assert count_words(window) <= SMALL.prefix_tokens
    assert count_words(context.suffix) <= SMALL.suffix_tokens
    assert count_words(outline) <= SMALL.outline_tokens
    for part in context.pieces:
        assert part.tokens >= count_words(part.text)
    assert sum(p.tokens for p in context.pieces if p.name not in ("prefix", "suffix")) <= SMALL.outline_tokens
    assert {p.name for p in context.pieces} <= {"imports", "signatures", "enclosing", "prefix", "suffix"}


@pytest.mark.parametrize("language", sorted(SAMPLES))
@pytest.mark.parametrize("prefix_tokens", [0, 15, 40, 120, 400])
def test_windows_respect_budgets_at_every_size(language: str, prefix_tokens: int) -> None:
    budget = ContextBudget(
        prefix_tokens=prefix_tokens, suffix_tokens=prefix_tokens // 2, outline_tokens=prefix_tokens
    )
    text, cursor, context = assemble(language, SAMPLES[language], budget)
    window = piece(context, "prefix")
    line_start = text.rfind("\n", 0, cursor) + 1
    assert context.prefix.endswith(text[line_start:cursor])
    assert count_words(window) <= max(budget.prefix_tokens, count_words(text[line_start:cursor]))
    assert count_words(context.suffix) <= budget.suffix_tokens
    assert count_words(context.prefix[: len(context.prefix) - len(window)]) <= budget.outline_tokens
    assert_statement_bounded(text, cursor, parse(language, text), context)


@pytest.mark.parametrize("language", sorted(SAMPLES))
def test_whole_file_fits_without_outline(language: str) -> None:
    text, cursor, context = assemble(language, SAMPLES[language], ContextBudget(4000, 4000, 400))
    assert context.prefix == text[:cursor]
    assert context.suffix == text[cursor:]
    assert context.window_start_line == 0
    assert context.window_end_line == text.rstrip("\n").count("\n")
    assert [p.name for p in context.pieces] == ["prefix", "suffix"]


def test_python_layout_with_elision_lines() -> None:
    budget = ContextBudget(prefix_tokens=45, suffix_tokens=30, outline_tokens=400)
    _, _, context = assemble("python", SAMPLES["python"], budget)
    assert context.prefix == (
        "from __future__ import annotations\n"
        "\n"
        "import json\n"
        "import logging\n"
        "from dataclasses import dataclass, field\n"
        "from pathlib import Path\n"
        "\n"
        "from .pricing import apply_discount, round_price\n"
        "# ...\n"
        "def format_total(items, currency: str) -> str:\n"
        '    """Sum of all item values, formatted."""\n'
        "    ...\n"
        "# ...\n"
        "class Inventory:\n"
        "    # ...\n"
        "    def available(self, sku: str) -> int:\n"
        '        """Units of ``sku`` not reserved yet."""\n'
        "        ...\n"
        "    # ...\n"
        '    def report(self, currency: str = "EUR") -> list[str]:\n'
        "        # ...\n"
        "        for sku in sorted(self.items):\n"
        "            # ...\n"
        '            lines.append(f"{item.name}: {units} units, {value:.2f} {currency}")\n'
        "            "
    )
    assert (
        context.suffix
        == "\n        lines.append(format_total(self.items.values(), currency))\n        return lines\n"
    )


def test_unknown_language_gets_whole_line_windows_without_outline() -> None:
    text = "".join(f"line {i}: some notes about the plan\n" for i in range(200))
    cursor = text.index("line 120:") + len("line 120: some")
    context = assemble_file_context(text, None, None, cursor, count_words, ContextBudget(50, 20, 100))
    window = piece(context, "prefix")
    assert context.prefix == window == text[cursor - len(window) : cursor]
    assert window.startswith("line ")  # whole lines
    assert context.suffix == " notes about the plan\n"  # the next whole line does not fit
    assert count_words(window) <= 50 and count_words(context.suffix) <= 20
    wider = assemble_file_context(text, None, None, cursor, count_words, ContextBudget(50, 60, 100))
    assert wider.suffix.startswith(" notes about the plan\nline 121: some notes about the plan\n")
    assert text[cursor:].startswith(wider.suffix) and wider.suffix.endswith("\n")
    next_line = text[cursor + len(wider.suffix) :].split("\n", 1)[0] + "\n"
    assert count_words(wider.suffix) <= 60 < count_words(wider.suffix + next_line)
    assert wider.window_end_line == text[: cursor + len(wider.suffix)].count("\n") - 1
    # A known language without a tree, or a tree of other text, falls back the same way.
    tree = parse("python", "x = 1\n" * 500)
    for language, given in (("python", None), ("python", tree)):
        again = assemble_file_context(text, given, language, cursor, count_words, ContextBudget(50, 20, 100))
        assert again == context


def test_cursor_inside_a_statement_keeps_it_whole_after_the_cursor() -> None:
    source = (
        SAMPLES["python"]
        .replace("<|>", "")
        .replace('lines.append(f"{item.name}', 'lines.append(f"{it<|>em.name}')
    )
    text, cursor, context = assemble("python", source, ContextBudget(80, 60, 0))
    assert context.suffix.startswith('em.name}: {units} units, {value:.2f} {currency}")\n')
    assert context.prefix.endswith('            lines.append(f"{it')
    assert [p.name for p in context.pieces] == ["prefix", "suffix"]  # no outline budget
    assert_statement_bounded(text, cursor, parse("python", text), context)


def test_statement_over_budget_around_the_cursor_is_cut_at_lines() -> None:
    entries = "".join(f'    "key{i}": {i},\n' for i in range(300))
    source = "import os\n\n\ndef table():\n    return {\n" + entries + '    "last": <|>\n    }\n'
    text, cursor, context = assemble("python", source, ContextBudget(40, 20, 60))
    window = piece(context, "prefix")
    assert window.startswith('    "key') and window.endswith('    "last": ')
    assert text[:cursor].endswith(window)
    assert count_words(window) <= 40
    outline = context.prefix[: -len(window)]
    assert "def table():\n" in outline and "import os\n" in outline


def test_outline_drops_signatures_first_then_imports() -> None:
    full = assemble("python", SAMPLES["python"], SMALL)[2]
    sizes = {p.name: p.tokens for p in full.pieces}
    assert {"imports", "signatures", "enclosing"} <= set(sizes)
    # Room for the headers and the imports, not for any signature.
    room = sizes["enclosing"] + sizes["imports"] + 12
    context = assemble("python", SAMPLES["python"], ContextBudget(60, 40, room))[2]
    assert [p.name for p in context.pieces] == ["imports", "enclosing", "prefix", "suffix"]
    assert piece(context, "imports") == piece(full, "imports")
    # Room for the headers and a little more: all headers, a few imports (those the code uses first).
    context = assemble("python", SAMPLES["python"], ContextBudget(60, 40, sizes["enclosing"] + 14))[2]
    assert piece(context, "enclosing") == piece(full, "enclosing")
    assert "signatures" not in [p.name for p in context.pieces]
    assert piece(context, "imports").split("\n")[0] == "from .pricing import apply_discount, round_price"
    # Room for less than all headers: the innermost go first, then what still fits.
    context = assemble("python", SAMPLES["python"], ContextBudget(60, 40, 24))[2]
    assert [p.name for p in context.pieces] == ["enclosing", "prefix", "suffix"]
    assert piece(context, "enclosing") == "        for sku in sorted(self.items):\n            # ...\n"
    context = assemble("python", SAMPLES["python"], ContextBudget(60, 40, 18))[2]
    assert piece(context, "enclosing") == "class Inventory:\n    # ...\n"


def test_headers_of_an_else_branch_and_a_decorated_method() -> None:
    js = """import { log } from "./log.js";

export function route(request) {
  const path = request.path;
  if (path === "/") {
    log("home");
    return home(request);
  } else if (path.startsWith("/api/")) {
    log("api");
    return api(request);
  } else {
    log("not found");
    const body = render404(path);
    const headers = { "content-type": "text/html" };
    <|>
  }
}
"""
    _, _, context = assemble("javascript", js, ContextBudget(20, 10, 200))
    assert context.prefix == (
        'import { log } from "./log.js";\n'
        "\n"
        "export function route(request) {\n"
        "  // ...\n"
        '  if (path === "/") {\n'
        "    // ...\n"
        '  } else if (path.startsWith("/api/")) {\n'
        "    // ...\n"
        "  } else {\n"
        "    // ...\n"
        "    "
    )
    py = """class Service:
    def __init__(self, client):
        self.client = client

    @property
    @functools.cache
    def settings(self):
        data = self.client.fetch()
        merged = {}
        for key, value in data.items():
            merged[key] = value
        merged.update(self.client.overrides)
        <|>
        return merged
"""
    _, _, context = assemble("python", py, ContextBudget(20, 10, 200))
    enclosing = piece(context, "enclosing")
    assert enclosing.startswith(
        "class Service:\n    # ...\n    @property\n    @functools.cache\n    def settings(self):\n"
    )


def test_crlf_document_keeps_its_line_breaks() -> None:
    text, cursor = split_cursor(SAMPLES["python"])
    crlf = text.replace("\n", "\r\n")
    crlf_cursor = cursor + text[:cursor].count("\n")
    tree = parse("python", crlf)
    context = assemble_file_context(crlf, tree, "python", crlf_cursor, count_words, SMALL)
    assert context.prefix.endswith(crlf[crlf.rfind("\n", 0, crlf_cursor) + 1 : crlf_cursor])
    assert crlf[:crlf_cursor].endswith(piece(context, "prefix"))
    assert crlf[crlf_cursor:].startswith(context.suffix)
    assert "# ...\r\n" in context.prefix


@pytest.mark.parametrize("offset", [-5, 0, 1, 10**9])
def test_edge_offsets_and_empty_documents(offset: int) -> None:
    text, _ = split_cursor(SAMPLES["go"])
    context = assemble_file_context(text, parse("go", text), "go", offset, count_words, SMALL)
    clamped = min(max(offset, 0), len(text))
    assert text[:clamped].endswith(piece(context, "prefix"))
    assert text[clamped:].startswith(context.suffix)
    empty = assemble_file_context("", parse("go", ""), "go", offset, count_words, SMALL)
    assert (empty.prefix, empty.suffix, empty.window_start_line, empty.window_end_line) == ("", "", 0, 0)


def test_budgets_with_a_real_tokenizer(smollm2_path: Path) -> None:
    import llama_cpp

    llm = llama_cpp.Llama(model_path=str(smollm2_path), vocab_only=True, verbose=False)

    def count_real(text: str) -> int:
        return len(llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    for language in sorted(SAMPLES):
        for budget in (SMALL, ContextBudget(25, 10, 80), ContextBudget(300, 120, 200)):
            text, cursor, context = assemble(language, SAMPLES[language], budget, count_real)
            window = piece(context, "prefix")
            assert text[:cursor].endswith(window)
            assert (
                count_real(window) <= budget.prefix_tokens
                or window == text[text.rfind("\n", 0, cursor) + 1 : cursor]
            )
            assert count_real(context.suffix) <= budget.suffix_tokens
            outline = context.prefix[: len(context.prefix) - len(window)]
            assert count_real(outline) <= budget.outline_tokens
            for part in context.pieces:
                assert part.tokens >= count_real(part.text), (language, part.name)
            assert_statement_bounded(text, cursor, parse(language, text), context)


def test_timing_on_a_five_thousand_line_file() -> None:
    text, cursor = split_cursor(SAMPLES["python"])
    body = text[text.index("log = logging") :]
    copies = [body.replace("Inventory", f"Inventory{i}").replace("def ", f"def v{i}_") for i in range(47)]
    big = text[:cursor] + "".join(copies[:23]) + text[cursor:] + "".join(copies[23:])
    cursor = big.index("            \n        lines.append(format_total") + 12
    assert big.count("\n") >= 5000
    tree = parse("python", big)
    for budget in (ContextBudget(), ContextBudget(256, 128, 128)):
        rounds = 20
        started = time.perf_counter()
        for _ in range(rounds):
            context = assemble_file_context(big, tree, "python", cursor, count_words, budget)
        elapsed = (time.perf_counter() - started) / rounds * 1000
        sizes = {p.name: p.tokens for p in context.pieces}
        print(f"\n{big.count(chr(10))} lines, {budget}: {elapsed:.2f} ms per call, {sizes}")  # noqa: T201
        assert context.prefix.endswith(big[big.rfind("\n", 0, cursor) + 1 : cursor])


def test_outline_is_kept_while_typing_on_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    # Like the snippet pick, the outline made at the first keystroke on a line stays while the user types
    # on it (a stable prompt front keeps the model's cache); any other change makes it anew, exactly.
    text, cursor = split_cursor(SAMPLES["python"])

    def outline_at(document: str, offset: int, cold: bool = False) -> str:
        if cold:
            monkeypatch.setattr(assemble_module, "_last_outline", None)
        context = assemble_file_context(
            document, parse("python", document), "python", offset, count_words, SMALL
        )
        return context.prefix[: len(context.prefix) - len(piece(context, "prefix"))]

    typed = "parse_sku"  # one word all along: the windows stay where they are
    first = outline_at(text[:cursor] + "p" + text[cursor:], cursor + 1)
    assert "def parse_sku" not in first  # not used in `report`
    for count in range(2, len(typed) + 1):
        document = text[:cursor] + typed[:count] + text[cursor:]
        assert outline_at(document, cursor + count) == first
    # A cold start at the same keystroke sees the name typed on the line.
    assert "def parse_sku" in outline_at(document, cursor + len(typed), cold=True)
    # On the next line the outline is made anew (the name is now in the lines around the cursor).
    document = text[:cursor] + typed + "\n            " + text[cursor:]
    offset = cursor + len(typed) + 13
    warm = outline_at(document, offset)
    assert "def parse_sku" in warm and warm == outline_at(document, offset, cold=True)
    # An edit elsewhere in the file is never served a kept outline.
    outline_at(text, cursor)
    renamed = text.replace("import json\n", "import jsun\n")  # same length: only the text differs
    warm = outline_at(renamed, cursor)
    assert "import jsun" in warm and warm == outline_at(renamed, cursor, cold=True)

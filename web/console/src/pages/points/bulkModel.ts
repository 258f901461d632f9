// What the bulk pages ask the operator to confirm: how many customers and how many points a
// bulk award / deduct / clear, a group award or a CSV import will touch, computed from
// exactly what will be sent.

/** The API's customer id pattern (`/v1/points/bulk`). */
export const CUSTOMER_ID = /^[A-Za-z0-9_-]{1,128}$/
/** Orders above this many customers / rows run as a job (the API's inline limit). */
export const INLINE_LIMIT = 1000
/** The API's most customers in one bulk order. */
export const MAX_BULK = 100_000

export interface ParsedIds {
  /** Distinct valid ids, in the order given. */
  ids: string[]
  /** Ids given more than once (sent once: the API applies duplicates once). */
  duplicates: number
  /** Entries that are not customer ids (not sent). */
  invalid: string[]
}

/** Ids pasted by an operator: one per line, or separated by commas, semicolons or spaces. */
export function parseIds(text: string): ParsedIds {
  const seen = new Set<string>()
  const ids: string[] = []
  const invalid: string[] = []
  let duplicates = 0
  for (const raw of text.split(/[\s,;，；]+/)) {
    const id = raw.trim()
    if (!id) continue
    if (!CUSTOMER_ID.test(id)) {
      invalid.push(id)
    } else if (seen.has(id)) {
      duplicates += 1
    } else {
      seen.add(id)
      ids.push(id)
    }
  }
  return { ids, duplicates, invalid }
}

export type BulkOperation = 'award' | 'deduct' | 'clear'

export interface Confirmation {
  operation: BulkOperation | 'group_award' | 'import'
  /** Customers (or rows) the order names. */
  customers: number
  /** Points per customer, when the order gives one. */
  pointsEach: number | null
  /** The most points the order moves (deductions stop at zero; `null` for clear: all). */
  totalPoints: number | null
  /** Whether the order will run as a job (progress shown) rather than inline. */
  job: boolean
  /** The customer count is an upper bound (group awards: a customer in two groups is paid once). */
  upTo: boolean
}

export function bulkConfirmation(operation: BulkOperation, ids: string[], points: number | null): Confirmation {
  const each = operation === 'clear' ? null : points ?? 0
  return {
    operation,
    customers: ids.length,
    pointsEach: each,
    totalPoints: each == null ? null : each * ids.length,
    job: ids.length > INLINE_LIMIT,
    upTo: false,
  }
}

/** A group award: members are read when the order runs; the groups' member counts bound them. */
export function groupAwardConfirmation(groups: { member_count?: number | null }[], points: number): Confirmation {
  const customers = groups.reduce((n, g) => n + (g.member_count ?? 0), 0)
  return {
    operation: 'group_award',
    customers,
    pointsEach: points,
    totalPoints: customers * points,
    job: customers > INLINE_LIMIT,
    upTo: true,
  }
}

export interface CsvPreview {
  /** Data rows (the header excluded, blank lines ignored). */
  rows: number
  /** Σ points of the rows whose points column is a whole number. */
  points: number
  /** Rows whose points are not a whole positive number (the report will reject them). */
  badNumbers: number
  /** The required columns missing from the header (the API refuses the whole file). */
  missingColumns: string[]
}

function splitCsvLine(line: string): string[] {
  const out: string[] = []
  let cur = ''
  let quoted = false
  for (let i = 0; i < line.length; i += 1) {
    const ch = line[i]
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"'
        i += 1
      } else if (ch === '"') {
        quoted = false
      } else {
        cur += ch
      }
    } else if (ch === '"') {
      quoted = true
    } else if (ch === ',') {
      out.push(cur)
      cur = ''
    } else {
      cur += ch
    }
  }
  out.push(cur)
  return out
}

/**
 * A first look at a CSV file before it is sent, for the confirmation: rows and points. The
 * API parses the file itself and reports each row; this only counts.
 */
export function previewCsv(text: string): CsvPreview {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/).filter((l) => l.trim() !== '')
  if (lines.length === 0) return { rows: 0, points: 0, badNumbers: 0, missingColumns: ['external_userid', 'points'] }
  const header = splitCsvLine(lines[0]).map((h) => h.trim().toLowerCase())
  const missingColumns = ['external_userid', 'points'].filter((c) => !header.includes(c))
  const col = header.indexOf('points')
  let points = 0
  let badNumbers = 0
  for (const line of lines.slice(1)) {
    const raw = col >= 0 ? (splitCsvLine(line)[col] ?? '').trim() : ''
    // Imports award whole positive points; anything else is a `bad_number` row in the report.
    if (/^\+?\d+$/.test(raw) && Number(raw) > 0) points += Number(raw)
    else badNumbers += 1
  }
  return { rows: lines.length - 1, points, badNumbers, missingColumns }
}

/** A fresh idempotency key for one order; a retry of the same order reuses it. */
export function newIdempotencyKey(prefix: string): string {
  const rand =
    typeof crypto !== 'undefined' && 'randomUUID' in crypto
      ? crypto.randomUUID()
      : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`
  return `${prefix}-${rand}`
}

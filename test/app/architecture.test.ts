import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { describe, it } from 'node:test'

const SRC = path.resolve(import.meta.dirname, '../../src')

/** Every .ts file under src/, relative to it. */
function sourceFiles(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(full)
    return entry.name.endsWith('.ts') ? [path.relative(SRC, full)] : []
  })
}

const IMPORT = /^(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'|^import\s+'(\.[^']+)'/gm

/** File → the files it imports (type-only imports included: a cycle of types is still a cycle). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>()
  for (const file of sourceFiles()) {
    const text = readFileSync(path.join(SRC, file), 'utf8')
    const targets = [...text.matchAll(IMPORT)].map((match) =>
      path.normalize(path.join(path.dirname(file), match[1] ?? match[2] ?? '')),
    )
    graph.set(file, targets)
  }
  return graph
}

/**
 * The unit a file belongs to: a top-level file is its own; under platform/, identity/ and
 * features/ it is the folder below the layer (features/token/grants/x.ts is in features/token),
 * or the file itself when it sits at the layer's root.
 */
function unitOf(file: string): string {
  const parts = file.split(path.sep)
  if (parts.length <= 2) return file
  return parts.slice(0, 2).join('/')
}

/** The strongly connected components with more than one member (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0
  const indices = new Map<string, number>()
  const lowlinks = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const found: string[][] = []
  const visit = (node: string): void => {
    indices.set(node, index)
    lowlinks.set(node, index)
    index += 1
    stack.push(node)
    onStack.add(node)
    for (const next of graph.get(node) ?? []) {
      if (!indices.has(next)) {
        visit(next)
        lowlinks.set(node, Math.min(lowlinks.get(node)!, lowlinks.get(next)!))
      } else if (onStack.has(next)) {
        lowlinks.set(node, Math.min(lowlinks.get(node)!, indices.get(next)!))
      }
    }
    if (lowlinks.get(node) === indices.get(node)) {
      const component: string[] = []
      let member: string
      do {
        member = stack.pop()!
        onStack.delete(member)
        component.push(member)
      } while (member !== node)
      if (component.length > 1) found.push(component.sort())
    }
  }
  for (const node of graph.keys()) if (!indices.has(node)) visit(node)
  return found
}

describe('The source tree', () => {
  const files = importGraph()

  it('imports only files that exist', () => {
    const known = new Set(files.keys())
    const missing = [...files].flatMap(([file, targets]) =>
      targets.filter((target) => !known.has(target)).map((target) => `${file} → ${target}`),
    )
    assert.deepEqual(missing, [])
  })

  it('has no import cycle between files', () => {
    assert.deepEqual(cycles(files), [])
  })

  it('has no import cycle between folders', () => {
    const units = new Map<string, string[]>()
    for (const [file, targets] of files) {
      const from = unitOf(file)
      const to = targets.map(unitOf).filter((unit) => unit !== from)
      units.set(from, [...new Set([...(units.get(from) ?? []), ...to])])
    }
    assert.deepEqual(cycles(units), [])
  })
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { clientAddressKey, networkPrefix } from '../../../src/platform/limiter/addresses.ts'
import { MemoryLimiterStore } from '../../../src/platform/limiter/store.ts'

describe('Client address keys', () => {
  it('keys an IPv6 client on its /64, in any spelling, and an IPv4-mapped one on its IPv4 address', () => {
    assert.equal(clientAddressKey('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64')
    assert.equal(clientAddressKey('2001:DB8:1:2::ffff'), '2001:db8:1:2::/64')
    assert.equal(clientAddressKey('2001:0db8:0001:0002::1%eth0'), '2001:db8:1:2::/64')
    assert.equal(clientAddressKey('::1'), '0:0:0:0::/64')
    assert.equal(clientAddressKey('::ffff:192.0.2.7'), '192.0.2.7')
    assert.equal(clientAddressKey('::FFFF:c000:207'), '192.0.2.7')
    assert.equal(clientAddressKey('0:0:0:0:0:ffff:192.0.2.7'), '192.0.2.7')
    assert.equal(clientAddressKey('64:ff9b::192.0.2.7'), '64:ff9b:0:0::/64')
    assert.equal(clientAddressKey('192.0.2.7'), '192.0.2.7')
  })

  it('groups networks by IPv4 /24 and IPv6 /64', () => {
    assert.equal(networkPrefix('192.0.2.7'), '192.0.2.0/24')
    assert.equal(networkPrefix('::ffff:192.0.2.200'), '192.0.2.0/24')
    assert.equal(networkPrefix('2001:db8:1:2::9'), '2001:db8:1:2::/64')
  })
})

describe('The in-process limiter store', () => {
  it('holds at most maxEntries per map under a flood of fresh addresses, forgetting the stalest', async () => {
    const store = new MemoryLimiterStore({ maxEntries: 100 })
    for (let i = 0; i < 10_000; i++) {
      await store.take(`flood:${i}`, 1, 60_000, 0)
      await store.addFailure(`flood:${i}`, 60_000, 0)
      await store.block(`flood:${i}`, 60_000)
      if (i % 50 === 0) await store.addFailure('steady', 60_000, 0) // in use, so kept
    }
    assert.deepEqual(store.sizes, { cells: 100, failures: 100, blocks: 100 })
    assert.equal(await store.addFailure('steady', 60_000, 0), 201, 'the key in use kept its count')
    assert.ok((await store.take('flood:9999', 1, 60_000, 0)) > 0, 'a recent key kept its count')
    assert.equal(await store.take('flood:0', 1, 60_000, 0), 0, 'the stalest key was forgotten')
    assert.equal(await store.blockedUntil('flood:0', 0), 0)
  })

  it('never sweeps on the request path: a take on a full store of expired entries evicts only the stalest', async () => {
    const store = new MemoryLimiterStore({ maxEntries: 1_000 })
    for (let i = 0; i < 1_000; i++) await store.take(`old:${i}`, 10, 60_000, i)
    // Every entry has long expired: a sweep would empty the map, an LRU bound drops one.
    await store.take('new', 10, 60_000, 10_000_000)
    assert.equal(store.sizes.cells, 1_000)
    await store.take('newer', 10, 60_000, 10_000_000)
    assert.equal(store.sizes.cells, 1_000)
  })

  it('peeks without spending', async () => {
    const store = new MemoryLimiterStore()
    assert.equal(await store.peek('k', 1, 60_000, 0), 0)
    assert.equal(await store.take('k', 1, 60_000, 0), 0)
    assert.equal(await store.peek('k', 1, 60_000, 0), 60_000)
    assert.equal(await store.take('k', 1, 60_000, 0), 60_000)
  })
})

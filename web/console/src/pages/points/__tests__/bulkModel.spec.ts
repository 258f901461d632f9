import { describe, expect, it } from 'vitest'
import { bulkConfirmation, groupAwardConfirmation, parseIds, previewCsv } from '../bulkModel'

describe('ids pasted for a bulk order', () => {
  it('splits on lines, commas and spaces, sends each id once and sets aside what is not an id', () => {
    const parsed = parseIds('wmA, wmB\nwmA  wm-C;bad id!\n\n，wm_D')
    expect(parsed.ids).toEqual(['wmA', 'wmB', 'wm-C', 'bad', 'wm_D'])
    expect(parsed.duplicates).toBe(1)
    expect(parsed.invalid).toEqual(['id!'])
  })
})

describe('confirmation counts', () => {
  it('counts customers and the points an award moves', () => {
    expect(bulkConfirmation('award', ['a', 'b', 'c'], 10)).toMatchObject({
      customers: 3,
      pointsEach: 10,
      totalPoints: 30,
      job: false,
      upTo: false,
    })
  })

  it('gives no points figure for a clear (every point of each customer)', () => {
    expect(bulkConfirmation('clear', ['a', 'b'], 99)).toMatchObject({ customers: 2, pointsEach: null, totalPoints: null })
  })

  it('says when an order runs as a job', () => {
    const ids = Array.from({ length: 1001 }, (_, i) => `c${i}`)
    expect(bulkConfirmation('deduct', ids, 1).job).toBe(true)
    expect(bulkConfirmation('deduct', ids.slice(0, 1000), 1).job).toBe(false)
  })

  it('bounds a group award by the groups’ member counts', () => {
    expect(groupAwardConfirmation([{ member_count: 40 }, { member_count: 60 }, {}], 5)).toMatchObject({
      customers: 100,
      totalPoints: 500,
      upTo: true,
    })
  })
})

describe('CSV preview', () => {
  it('counts rows and points, and the rows the report will reject as bad numbers', () => {
    const csv = '\uFEFFexternal_userid,points,ref\r\nwmA,10,o1\r\nwmB,"2,5",o2\r\n\r\nwmC,-3,o3\r\nwmD,7,o4\r\n'
    expect(previewCsv(csv)).toEqual({ rows: 4, points: 17, badNumbers: 2, missingColumns: [] })
  })

  it('names the missing columns the API would refuse the file for', () => {
    expect(previewCsv('id,amount\nwmA,1\n').missingColumns).toEqual(['external_userid', 'points'])
    expect(previewCsv('').rows).toBe(0)
  })
})

// A code's figures over a range of tenant-local days (the last 30 by default), reloaded when
// the range changes: what a channel code's page and a group code's page both show.
import { ref } from 'vue'
import { addDays, todayIn } from '../sop/scheduleModel'

export function useCodeFigures<T>(zone: () => string, fetch: (from: string, to: string) => Promise<T>) {
  const range = ref<[string, string] | null>(null)
  const figures = ref<T | null>(null)
  const loading = ref(true)
  const error = ref<unknown>(null)

  function defaultRange(): [string, string] {
    const today = todayIn(zone())
    return [addDays(today, -29), today]
  }
  async function load() {
    if (!range.value) range.value = defaultRange()
    loading.value = true
    error.value = null
    try {
      figures.value = await fetch(range.value[0], range.value[1])
    } catch (e) {
      error.value = e
    } finally {
      loading.value = false
    }
  }
  function setRange(v: [string, string] | null) {
    range.value = v ?? defaultRange()
    void load()
  }
  return { range, figures, loading, error, load, setRange }
}

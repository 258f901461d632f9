// What the editors that refer to materials of the content center show of them: the kind and
// title, known from the picker or read once per id. Only ids travel in a welcome or a plan;
// the title is for the operator's eyes.
import { reactive } from 'vue'
import { ApiError } from '@/api/errors'
import { contentApi, type Material, type MaterialKind } from './contentApi'

export interface MaterialRef {
  material_id: string
  kind: MaterialKind
  title: string
}

/** Known materials by id; `null`: asked, and the library has no such material. */
const known = reactive(new Map<string, MaterialRef | null>())
const asked = new Set<string>()

export function rememberMaterial(m: Pick<Material, 'material_id' | 'kind' | 'title'>): MaterialRef {
  const ref: MaterialRef = { material_id: m.material_id, kind: m.kind, title: m.title }
  known.set(m.material_id, ref)
  asked.add(m.material_id)
  return ref
}

/** The material of `id` as known so far: undefined while unknown, null when it does not exist. */
export function materialRef(id: string | undefined): MaterialRef | null | undefined {
  return id ? known.get(id) : undefined
}

/** Reads the materials not known yet (each id once); one that cannot be read stays unknown. */
export async function resolveMaterials(ids: (string | undefined)[]): Promise<void> {
  const missing = [...new Set(ids.filter((id): id is string => !!id && !asked.has(id)))]
  await Promise.all(
    missing.map(async (id) => {
      asked.add(id)
      try {
        rememberMaterial(await contentApi.get(id))
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) known.set(id, null)
        else asked.delete(id)
      }
    }),
  )
}

/** Forgets every material (tests). */
export function forgetMaterials(): void {
  known.clear()
  asked.clear()
}

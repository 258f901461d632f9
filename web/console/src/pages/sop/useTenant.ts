// The tenant's time zone and group-message quota, read once per page load: SOP times are
// wall-clock times in the tenant's zone, whatever the browser's.
import { ref } from 'vue'
import { sopApi, type TenantInfo } from './sopApi'

const DEFAULT_ZONE = 'Asia/Shanghai'
const tenant = ref<TenantInfo | null>(null)
let pending: Promise<TenantInfo | null> | null = null

export function useTenant() {
  if (!pending) {
    pending = sopApi
      .tenant()
      .then((t) => (tenant.value = t))
      .catch(() => {
        // The zone falls back to the product's default; pages still work.
        pending = null
        return null
      })
  }
  return {
    tenant,
    ready: pending,
    zone: () => tenant.value?.settings?.timezone || DEFAULT_ZONE,
    quota: () => tenant.value?.settings?.group_message_quota ?? null,
  }
}

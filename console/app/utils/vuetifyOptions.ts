// The console's Vuetify setup (used by plugins/vuetify.ts, and by tests that render as the console
// does): SVG icons tree-shaken from @mdi/js, light and dark themes, component defaults.
import type { IconAliases as JsonFormsIconAliases } from '@jsonforms/vue-vuetify'
import {
  mdiAlertCircleOutline, mdiArrowDown, mdiArrowUp, mdiCalendarClock, mdiClockOutline, mdiDelete, mdiEye, mdiEyeOff, mdiPlus,
} from '@mdi/js'
import type { VuetifyOptions } from 'vuetify'
import { aliases, mdi } from 'vuetify/iconsets/mdi-svg'

/**
 * The icons JSON Forms' Vuetify renderers ask for by alias (their own defaults are icon-font
 * names such as "mdi-plus", which the SVG icon set cannot draw). Registered in Vuetify's icon
 * aliases, so every JSON Forms form in the console draws them; typed with the renderers' own
 * alias list, so one they add and this map lacks fails the type check.
 */
export const JSON_FORMS_ICONS: JsonFormsIconAliases = {
  itemAdd: mdiPlus, itemMoveUp: mdiArrowUp, itemMoveDown: mdiArrowDown, itemDelete: mdiDelete,
  calendarClock: mdiCalendarClock, clock: mdiClockOutline, passwordHide: mdiEyeOff, passwordShow: mdiEye,
  validationError: mdiAlertCircleOutline,
}

export function vuetifyOptions(defaultTheme: 'light' | 'dark' = 'light'): VuetifyOptions {
  return {
    icons: { defaultSet: 'mdi', aliases: { ...aliases, ...JSON_FORMS_ICONS }, sets: { mdi } },
    theme: {
      defaultTheme,
      themes: {
        light: {
          dark: false,
          colors: {
            primary: '#3949ab', secondary: '#00897b', background: '#f6f7fb', surface: '#ffffff',
            error: '#b3261e', warning: '#8a5300', success: '#1b6e3a', info: '#0b57d0',
          },
        },
        dark: {
          dark: true,
          colors: {
            primary: '#9fa8da', secondary: '#4db6ac', background: '#121318', surface: '#1c1d24',
            error: '#ffb4ab', warning: '#ffb951', success: '#7fd99c', info: '#a8c7fa',
          },
        },
      },
    },
    defaults: {
      VTextField: { variant: 'outlined', density: 'comfortable' },
      VSelect: { variant: 'outlined', density: 'comfortable' },
      VAutocomplete: { variant: 'outlined', density: 'comfortable' },
      VTextarea: { variant: 'outlined', density: 'comfortable' },
      VBtn: { rounded: 'lg' },
      VCard: { rounded: 'lg' },
    },
  }
}

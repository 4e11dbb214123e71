/**
 * Monaco follows the app's theme. Monaco has one theme for every editor on the page, so the app's
 * light/dark choice (`data-theme` on <html>, else prefers-color-scheme: ThemeToggle) is watched once
 * and applied to all editors live (composer, workflow diff, any other). Each editor also starts in
 * the current theme (`monacoThemeName()` as its `theme` prop).
 *
 * Every token colour below has a contrast of at least 4.5:1 on its theme's background
 * (monacoTheme.test.ts checks it), like the rest of the app.
 */
import type * as Monaco from 'monaco-editor'

export const MONACO_DARK = 'controlroom-dark'
export const MONACO_LIGHT = 'controlroom-light'

type ThemeData = Monaco.editor.IStandaloneThemeData

export const MONACO_THEMES: Record<string, ThemeData> = {
  [MONACO_DARK]: {
    base: 'vs-dark',
    inherit: true,
    rules: [
      { token: 'comment', foreground: '8fb87a' },
      { token: 'type', foreground: '5cd6c0' },
      { token: 'string', foreground: 'e0a882' },
      { token: 'number', foreground: 'c2dbb5' },
      { token: 'keyword', foreground: '7fb4e8' },
      { token: 'operators', foreground: 'd4d4d4' },
      { token: 'delimiter', foreground: 'd4d4d4' },
    ],
    colors: {
      'editor.background': '#14171d',
      'editor.foreground': '#e6e8ee',
      'editorGutter.background': '#14171d',
      'editorLineNumber.foreground': '#9aa3b2',
      'editorLineNumber.activeForeground': '#e6e8ee',
    },
  },
  [MONACO_LIGHT]: {
    base: 'vs',
    inherit: true,
    rules: [
      { token: 'comment', foreground: '17703c' },
      { token: 'type', foreground: '00636b' },
      { token: 'string', foreground: 'a31515' },
      { token: 'number', foreground: '0b6a46' },
      { token: 'keyword', foreground: '0a58a8' },
      { token: 'operators', foreground: '1b1f27' },
      { token: 'delimiter', foreground: '1b1f27' },
    ],
    colors: {
      'editor.background': '#ffffff',
      'editor.foreground': '#1b1f27',
      'editorGutter.background': '#ffffff',
      'editorLineNumber.foreground': '#4d5563',
      'editorLineNumber.activeForeground': '#1b1f27',
    },
  },
}

/** the app's theme now: the toggle's choice, else the system's */
export function appTheme(): 'light' | 'dark' {
  if (typeof document === 'undefined') return 'dark'
  const set = document.documentElement.dataset.theme
  if (set === 'light' || set === 'dark') return set
  return window.matchMedia('(prefers-color-scheme: light)').matches ? 'light' : 'dark'
}

/** the Monaco theme for the app's theme now (an editor's initial `theme`) */
export function monacoThemeName(): string {
  return appTheme() === 'light' ? MONACO_LIGHT : MONACO_DARK
}

let following = false

/** defines both themes and keeps every editor on the app's theme from now on (once per page) */
export function followAppTheme(monaco: typeof Monaco): void {
  for (const [name, data] of Object.entries(MONACO_THEMES)) monaco.editor.defineTheme(name, data)
  if (following) return
  following = true
  const apply = () => monaco.editor.setTheme(monacoThemeName())
  new MutationObserver(apply).observe(document.documentElement, {
    attributes: true,
    attributeFilter: ['data-theme'],
  })
  window.matchMedia('(prefers-color-scheme: light)').addEventListener('change', apply)
  apply()
}

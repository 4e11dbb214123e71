'use client'
/**
 * Light / dark theme. Without a choice the page follows prefers-color-scheme (CSS); the toggle
 * stores an explicit choice in localStorage and sets `data-theme` on <html> (THEME_SCRIPT applies
 * it before the first paint, so there is no flash).
 */
import { useEffect, useState } from 'react'

export const THEME_KEY = 'controlroom.theme'

/** inline in <head>: applies the stored theme before the page paints */
export const THEME_SCRIPT = `try{var t=localStorage.getItem('${THEME_KEY}');if(t==='light'||t==='dark')document.documentElement.dataset.theme=t}catch(e){}`

type Theme = 'light' | 'dark'

function current(): Theme {
  const set = document.documentElement.dataset.theme
  if (set === 'light' || set === 'dark') return set
  return window.matchMedia('(prefers-color-scheme: light)').matches ? 'light' : 'dark'
}

export function ThemeToggle() {
  const [theme, setTheme] = useState<Theme | null>(null)
  useEffect(() => setTheme(current()), [])
  const next: Theme = theme === 'light' ? 'dark' : 'light'
  return (
    <button
      type="button"
      className="theme-toggle"
      data-testid="theme-toggle"
      aria-label={`Switch to the ${next} theme`}
      title={`Switch to the ${next} theme`}
      onClick={() => {
        document.documentElement.dataset.theme = next
        try {
          localStorage.setItem(THEME_KEY, next)
        } catch {
          /* not persisted */
        }
        setTheme(next)
      }}
    >
      {theme === 'light' ? '☾ Dark' : '☀ Light'}
    </button>
  )
}

'use client'
import { useState } from 'react'

/** A "Copy" button for text (plan JSON, job scripts); falls back to execCommand where the Clipboard API is missing. */
export function CopyButton({ text, testId }: { text: string; testId?: string }) {
  const [state, setState] = useState<'idle' | 'ok' | 'failed'>('idle')
  const copy = async () => {
    try {
      if (navigator.clipboard?.writeText) await navigator.clipboard.writeText(text)
      else fallbackCopy(text)
      setState('ok')
    } catch {
      try {
        fallbackCopy(text)
        setState('ok')
      } catch {
        setState('failed')
      }
    }
    setTimeout(() => setState('idle'), 1500)
  }
  return (
    <button type="button" className="copy" onClick={copy} data-testid={testId}>
      {state === 'ok' ? 'Copied' : state === 'failed' ? 'Copy failed' : 'Copy'}
    </button>
  )
}

function fallbackCopy(text: string) {
  const ta = document.createElement('textarea')
  ta.value = text
  ta.style.position = 'fixed'
  ta.style.opacity = '0'
  document.body.appendChild(ta)
  ta.select()
  const ok = document.execCommand('copy')
  ta.remove()
  if (!ok) throw new Error('copy failed')
}

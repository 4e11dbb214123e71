'use client'
/**
 * The one filter bar of the lists (runs, a run's tasks, a run's log): labelled selects and text
 * fields in a wrapping row, a "clear" button while any filter is set, and room for a list's own
 * controls (`children`). The caller owns the values; each change is reported by the field's name.
 */
import { type ReactNode, useId } from 'react'
import './filter-bar.css'

export interface FilterOption {
  value: string
  /** shown instead of the value */
  label?: string
}

interface FieldBase {
  name: string
  label: string
  value: string
  testId?: string
  title?: string
}

export type FilterField =
  | (FieldBase & {
      kind: 'select'
      options: readonly FilterOption[]
      /** the label of the empty value ("all"); null: the select has no empty value (a sort order) */
      allLabel?: string | null
    })
  | (FieldBase & {
      kind: 'search' | 'text'
      placeholder?: string
      size?: number
      /** the value is not usable (e.g. not a regular expression): marked for assistive technology */
      invalid?: boolean
    })

export interface FilterBarProps {
  fields: readonly FilterField[]
  onChange(name: string, value: string): void
  /** clears every filter; the button shows while `active` (default: any field has a value) */
  onClear?: () => void
  active?: boolean
  /** a list's own controls after the fields (a follow switch, a download link) */
  children?: ReactNode
  className?: string
  testId?: string
}

export function FilterBar({ fields, onChange, onClear, active, children, className, testId }: FilterBarProps) {
  const anySet = active ?? fields.some((f) => f.value !== '')
  const idBase = useId()
  return (
    <div className={`filter-bar${className ? ` ${className}` : ''}`} data-testid={testId}>
      {fields.map((f) => (
        <label key={f.name} title={f.title} htmlFor={`${idBase}-${f.name}`}>
          {f.label}
          {f.kind === 'select' ? (
            <select
              id={`${idBase}-${f.name}`}
              value={f.value}
              onChange={(e) => onChange(f.name, e.target.value)}
              data-testid={f.testId}
            >
              {f.allLabel === null ? null : <option value="">{f.allLabel ?? 'all'}</option>}
              {f.value !== '' && !f.options.some((o) => o.value === f.value) ? (
                <option value={f.value}>{f.value}</option>
              ) : null}
              {f.options.map((o) => (
                <option key={o.value} value={o.value}>
                  {o.label ?? o.value}
                </option>
              ))}
            </select>
          ) : (
            <input
              id={`${idBase}-${f.name}`}
              type={f.kind}
              value={f.value}
              placeholder={f.placeholder}
              size={f.size}
              aria-invalid={f.invalid || undefined}
              onChange={(e) => onChange(f.name, e.target.value)}
              data-testid={f.testId}
            />
          )}
        </label>
      ))}
      {children}
      {onClear && anySet ? (
        <button type="button" onClick={onClear}>
          clear
        </button>
      ) : null}
    </div>
  )
}

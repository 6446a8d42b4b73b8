import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import './app.css'
import { CodeLoginApp } from './CodeLoginApp.tsx'

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <CodeLoginApp />
  </StrictMode>,
)

if ('serviceWorker' in navigator) {
  window.addEventListener('load', () => {
    void navigator.serviceWorker.register('/app/sw.js', { scope: '/app/' }).catch(() => undefined)
  })
}

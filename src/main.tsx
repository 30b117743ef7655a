import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './ui/App';
import { connectSession } from './store/session';
import './ui/styles.css';

connectSession();
createRoot(document.getElementById('root')!).render(<StrictMode><App /></StrictMode>);

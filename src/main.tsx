import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './ui/App';
import { startGpuWorker } from './store/device';
import './ui/styles.css';

startGpuWorker();
createRoot(document.getElementById('root')!).render(<StrictMode><App /></StrictMode>);

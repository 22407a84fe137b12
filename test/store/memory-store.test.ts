import { MemoryStore } from "../../client/store/memory-store.js";
import { storeSuite } from "./store-suite.js";

const open: MemoryStore[] = [];

storeSuite("MemoryStore", {
  async create() {
    const store = new MemoryStore();
    open.push(store);
    return store;
  },
  async cleanup() {
    await Promise.all(open.splice(0).map((store) => store.close()));
  },
});

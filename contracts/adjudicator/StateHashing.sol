// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAdjudicator} from "../interfaces/IAdjudicator.sol";

/**
 * @title Channel ids and EIP-712 state hashes, computed from calldata
 * @author Clearline
 * @notice The hashes both participants and the Adjudicator agree on (docs/protocol.md): a channel's
 * id and the EIP-712 digest of a state.
 * @dev Internal functions only: inlined into the Adjudicator, no deployment of their own. Both are
 * built in scratch memory past the free memory pointer, which stays where it is.
 */
library StateHashing {
    bytes32 private constant ALLOCATION_TYPEHASH =
        keccak256("Allocation(address token,int256 net,uint256 withdrawn0,uint256 withdrawn1)");
    bytes32 private constant STATE_TYPEHASH =
        keccak256(
            "State(bytes32 channelId,uint64 nonce,Allocation[] allocations,bytes32 locksRoot,bool isFinal)"
            "Allocation(address token,int256 net,uint256 withdrawn0,uint256 withdrawn1)"
        );

    /**
     * @notice `keccak256(abi.encode(block.chainid, address(this), params))`, hashed from calldata: the
     * parameters' canonical encoding is rebuilt (the assets' offset fixed), so a non-canonical
     * calldata layout gives the same id, and dirty words a different one (no channel).
     * @param params The channel's parameters.
     * @return id The channel id.
     */
    function channelId(IAdjudicator.Params calldata params) internal view returns (bytes32 id) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            let assets := add(params, calldataload(add(params, 0x40)))
            let count := calldataload(assets)
            mstore(ptr, chainid())
            mstore(add(ptr, 0x20), address())
            mstore(add(ptr, 0x40), 0x60)
            calldatacopy(add(ptr, 0x60), params, 0x40)
            mstore(add(ptr, 0xa0), 0xa0)
            calldatacopy(add(ptr, 0xc0), add(params, 0x60), 0x40)
            calldatacopy(add(ptr, 0x100), assets, shl(5, add(count, 1)))
            id := keccak256(ptr, add(0x120, shl(5, count)))
        }
    }

    /**
     * @notice The EIP-712 digest of `state`: its struct hash (each allocation is four static words in
     * calldata, hashed behind its type hash; Solidity checks the slice lies within calldata) under
     * `domainSeparator`.
     * @param state The state.
     * @param domainSeparator The Adjudicator's EIP-712 domain separator.
     * @return result The digest both participants sign.
     */
    function digest(IAdjudicator.State calldata state, bytes32 domainSeparator) internal pure returns (bytes32 result) {
        IAdjudicator.Allocation[] calldata allocations = state.allocations;
        (bytes32 channelId_, uint64 nonce, bytes32 locksRoot, bool isFinal) = (
            state.channelId,
            state.nonce,
            state.locksRoot,
            state.isFinal
        );
        (bytes32 allocationTypeHash, bytes32 stateTypeHash) = (ALLOCATION_TYPEHASH, STATE_TYPEHASH);
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            let count := allocations.length
            let hashes := add(ptr, 0xc0)
            mstore(ptr, allocationTypeHash)
            for {
                let i := 0
            } lt(i, count) {
                i := add(i, 1)
            } {
                calldatacopy(add(ptr, 0x20), add(allocations.offset, shl(7, i)), 0x80)
                mstore(add(hashes, shl(5, i)), keccak256(ptr, 0xa0))
            }
            mstore(add(ptr, 0x60), keccak256(hashes, shl(5, count)))
            mstore(ptr, stateTypeHash)
            mstore(add(ptr, 0x20), channelId_)
            mstore(add(ptr, 0x40), nonce)
            mstore(add(ptr, 0x80), locksRoot)
            mstore(add(ptr, 0xa0), isFinal)
            let structHash := keccak256(ptr, 0xc0)
            // MessageHashUtils.toTypedDataHash, in the same scratch memory.
            mstore(ptr, shl(240, 0x1901))
            mstore(add(ptr, 0x02), domainSeparator)
            mstore(add(ptr, 0x22), structHash)
            result := keccak256(ptr, 0x42)
        }
    }

    /**
     * @notice The fingerprint of a registered outcome: its nets and its locks' root.
     * @param nets The nets, one per asset.
     * @param locksRoot The locks' canonical root.
     * @return The first 19 bytes of `keccak256(abi.encode(nets, locksRoot))`.
     */
    function outcomeFingerprint(int256[] memory nets, bytes32 locksRoot) internal pure returns (bytes19) {
        return bytes19(keccak256(abi.encode(nets, locksRoot)));
    }
}
